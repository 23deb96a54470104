//! skiff's control plane: the replicated store, the peer transport and PKI, and later the API
//! server, scheduler and controllers.

#[allow(
    clippy::result_large_err,
    reason = "ApiError (a Kubernetes Status) is built at most once per request and returned straight to the client; boxing it would only add an allocation"
)]
pub mod apiserver;
pub mod launch;
pub mod pki;
pub mod replica;
pub mod server;
pub mod store;
