//! skiff's control plane: the replicated store, the peer transport and PKI, and later the API
//! server, scheduler and controllers.

pub mod store;
