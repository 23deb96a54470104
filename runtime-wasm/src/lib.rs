//! skiff's container runtime: runs Wasm pods in wasmtime (CRI's ImageService + RuntimeService, in-process).
//!
//! # Layout
//! - [`spec`]: the plain structs the node agent hands in (pods, containers, limits) and the
//!   statuses it reads back. No Kubernetes types.
//! - [`image`]: image references to Wasm bytes (file or OCI), a content-addressed blob cache.
//! - [`compile`]: the compiled-code cache keyed by content digest + engine fingerprint,
//!   bounded compile size/time, import checks.
//! - [`engine`]: one wasmtime `Engine` per runtime (async, epochs, pooling) and the epoch ticker.
//! - [`host`]: per-store state (WASI, HTTP, limits, CPU throttle, virtual sockets).
//! - [`linker`]: which interfaces a guest may import.
//! - [`logs`]: per-container log files, size-capped and rotated, read and followed.
//! - [`network`]: the [`network::PodNetwork`] trait every socket address goes through, and
//!   [`network::LocalNetwork`], a single-process implementation for tests.
//! - [`sockets`]: wasi:sockets implemented by delegating to wasmtime-wasi after address rewriting.
//! - [`runtime`]: [`Runtime`], the runtime service (sandboxes, containers, status).
//! - [`usage`]: per-container CPU time and linear memory, and the process's own usage.
//! - `examples` (feature `examples`): builds ../examples-wasm and returns the .wasm paths.

pub mod compile;
pub mod engine;
pub mod error;
#[cfg(feature = "examples")]
pub mod examples;
pub mod host;
pub mod image;
pub mod linker;
pub mod logs;
pub mod network;
pub mod preopens;
pub mod runtime;
pub mod sockets;
pub mod spec;
pub mod usage;

pub use error::{CompileError, ImageError, RuntimeError};
pub use runtime::{Runtime, RuntimeConfig};
pub use spec::{ContainerSpec, ContainerState, ContainerStatus, PodSpec, TerminationReason};
