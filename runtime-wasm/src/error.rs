//! Error enums, one per boundary: images, compilation, the runtime service.
//!
//! Recoverable errors (a bad image, an unknown container) are returned to the caller and the
//! runtime keeps serving; [`RuntimeError::Fatal`] means the runtime itself is unusable
//! (cache directory gone, engine could not be built).

use std::path::PathBuf;

/// Resolving an image reference to Wasm bytes.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("image reference {0:?} is not a file path, file:// URL or OCI reference")]
    BadReference(String),
    #[error("reading image file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("image {reference} is {size} bytes, above the limit of {limit} bytes")]
    TooLarge {
        reference: String,
        size: u64,
        limit: u64,
    },
    #[error("pulling {reference} from its registry: {message}")]
    Registry { reference: String, message: String },
    #[error("image {reference} has no Wasm layer (layer media types: {found:?})")]
    NoWasmLayer {
        reference: String,
        found: Vec<String>,
    },
    #[error("digest mismatch for {reference}: expected {expected}, got {actual}")]
    DigestMismatch {
        reference: String,
        expected: String,
        actual: String,
    },
    #[error("image cache I/O at {path}: {source}")]
    Cache {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Turning Wasm bytes into something runnable.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("not a WebAssembly binary (first bytes {0:02x?}); expected \\0asm")]
    NotWasm(Vec<u8>),
    #[error("invalid or truncated WebAssembly: {0}")]
    Invalid(String),
    #[error("module is {size} bytes, above the compile limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("compiling took longer than {0:?}")]
    Timeout(std::time::Duration),
    #[error("component imports interfaces skiff does not provide: {}", .0.join(", "))]
    MissingImports(Vec<String>),
    #[error("component exports neither wasi:cli/run nor wasi:http/incoming-handler")]
    NoEntryPoint,
    #[error("compiled-code cache I/O at {path}: {source}")]
    Cache {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The runtime service (sandboxes and containers).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Compile(#[from] CompileError),
    #[error("pod sandbox {0} not found")]
    NoSuchPod(String),
    #[error("pod sandbox {0} already exists")]
    PodExists(String),
    #[error("container {container} not found in pod {pod}")]
    NoSuchContainer { pod: String, container: String },
    #[error("container {container} in pod {pod} already exists or is running")]
    ContainerExists { pod: String, container: String },
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
    #[error("instantiating: {0}")]
    Instantiate(String),
    #[error("network: {0}")]
    Network(String),
    #[error("logs: {0}")]
    Logs(#[from] std::io::Error),
    #[error("fatal runtime error: {0}")]
    Fatal(String),
}

impl RuntimeError {
    /// True when the runtime itself cannot go on; everything else concerns one request.
    pub fn is_fatal(&self) -> bool {
        matches!(self, RuntimeError::Fatal(_))
    }
}
