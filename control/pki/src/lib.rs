//! The cluster's PKI: the shared CA, per-replica serving certificates, the join token that
//! pins the CA (k3s-style), bearer tokens, and the rustls configuration for skiff's HTTPS.
//!
//! # Layout
//! - `ca`: [`ClusterCa`] (generate, load, fingerprint) and [`ServingCert`] issue.
//! - `san`: reads SANs back from a certificate, to notice changed listen addresses.
//! - `token`: [`JoinToken`] (`K10<ca-sha256>::server:<secret>`), bearer tokens, [`ct_eq`].
//! - `fsio`: [`PkiPaths`] and atomic, create-only file writes.
//! - `store`: [`PkiStore::load_or_init`] and [`Pki::install_joined`].
//! - `serving`: keeps or re-issues the serving certificate on disk.
//! - `tls`: rustls server/client configs (ring provider, ALPN h2 + http/1.1), [`accept_tls`].
//! - `join`: [`fetch_ca`], the pinned, unverified `GET /cacerts` a joining replica makes.
//!
//! # On disk
//! ```text
//! <data-dir>/token          join token, full form            0600, never replaced
//! <data-dir>/admin-token    admin bearer token               0600, never replaced
//! <data-dir>/pki/           0700
//!   ca.crt  ca.key          cluster CA (key 0600)            never replaced
//!   server.crt server.key   this replica's serving cert      re-issued when SANs change
//! ```
//!
//! Architecture invariant: this crate knows nothing of the API server's routes or of Raft;
//! it hands out PEM, tokens and rustls configs.

#![deny(unreachable_pub)]

mod ca;
mod fsio;
mod join;
mod san;
mod serving;
mod store;
mod tls;
mod token;

#[cfg(test)]
mod join_tests;
#[cfg(test)]
mod store_tests;

pub use ca::{
    ALWAYS_SANS, CA_COMMON_NAME, CertError, ClusterCa, NODE_USER_PREFIX, ServingCert,
    normalize_sans,
};
pub use fsio::PkiPaths;
pub use join::{DEFAULT_PORT, FETCH_TIMEOUT, JoinError, PinPolicy, fetch_ca, fetch_ca_with};
pub use store::{Pki, PkiError, PkiStore};
pub use tls::{
    ALPN, HANDSHAKE_TIMEOUT, HandshakeError, TlsError, accept_tls, client_config, crypto_provider,
    server_config, try_accept_tls,
};
pub use token::{JoinToken, TokenError, TokenRole, ct_eq, generate_bearer_token};
