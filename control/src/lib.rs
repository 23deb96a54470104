//! skiff's control plane: the replicated store, the peer transport and PKI, and later the API
//! server, scheduler and controllers.

pub mod apiserver;
pub mod launch;
pub mod pki;
pub mod replica;
pub mod server;
pub mod store;
