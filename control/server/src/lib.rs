//! A control-plane replica assembled: one TLS listener serving peer traffic (`/raft/*`), the
//! store's JSON KV API (`/kv/v1/*`), the CA for joiners (`/cacerts`), health checks and the
//! Kubernetes API, and the start-up sequence that builds all of it from a data directory.
//!
//! # Layout
//! - `launch`: first start, restart or join; what `skiff server` calls.
//! - `debug`: `skiff debug`'s read-only listing of a data directory's Raft log.
//! - `accept`: the accept loop with graceful shutdown.
//! - `components`: the scheduler and controller manager in this process, API clients of this
//!   replica over loopback with tokens of their own, each acting while it holds its Lease.
//! - `routes`: dispatch by path, authentication of callers.
//! - `kv_api`: the `/kv/v1` JSON endpoints (benchmarks and tests drive the store through them).
//! - `node_join`: `/skiff/v1/node-join`, where a node agent trades the agent token for a
//!   credential of its own; `node_cert`: `/skiff/v1/node-certificate`, where a node gets its
//!   overlay certificate.

#![deny(unreachable_pub)]

mod accept;
pub mod components;
mod data_dir;
pub mod debug;
mod join;
mod kv_api;
pub mod launch;
mod node_cert;
mod node_join;
mod routes;
