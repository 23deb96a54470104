//! The replica's HTTPS endpoint: one TLS listener serving peer traffic (`/raft/*`), the store's
//! JSON KV API (`/kv/v1/*`), the CA for joiners (`/cacerts`) and health checks.
//!
//! # Layout
//! - `accept`: the accept loop with graceful shutdown.
//! - `respond`: small response and body helpers shared by handlers.
//! - `routes`: dispatch by path, authentication of callers.
//! - `kv_api`: the `/kv/v1` JSON endpoints (benchmarks and tests drive the store through them).

pub mod accept;
pub mod kv_api;
pub mod respond;
pub mod routes;

pub use accept::serve;
pub use routes::Router;
