//! Builds the guest programs in `examples-wasm/` once per process and returns their .wasm paths.
//!
//! Used by this crate's tests and benches, the workspace `tests/` crate and the CLI demos.
//! The build runs `cargo build --release --target wasm32-wasip2` in examples-wasm with its
//! own target dir, under an exclusive file lock so parallel test binaries do not race.
//! Requires `rustup target add wasm32-wasip2` (rust-toolchain.toml lists it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Every command/proxy guest built from `examples-wasm/guests/src/bin`.
pub const GUESTS: &[&str] = &[
    "busy-loop",
    "client",
    "crasher",
    "env-printer",
    "http-hello",
    "http-server",
    "job",
    "memory-hog",
    "net-bench",
    "tcp-echo",
    "tcp-options",
    "udp-echo",
];

/// Paths of the built guests.
#[derive(Debug, Clone)]
pub struct Examples {
    /// Guest name (as in [`GUESTS`]) to its .wasm component.
    pub wasm: BTreeMap<String, PathBuf>,
    /// The wasip1 core module job, in text format (`wat/p1-job.wat`).
    pub p1_job_wat: PathBuf,
}

impl Examples {
    /// Path of one guest; panics with the list of known names if `name` is unknown.
    pub fn path(&self, name: &str) -> &Path {
        self.wasm
            .get(name)
            .unwrap_or_else(|| panic!("no example guest {name}; known: {GUESTS:?}"))
    }
}

/// Error building the examples; carries cargo's output.
#[derive(Debug, thiserror::Error)]
#[error("building examples-wasm failed: {0}")]
pub struct BuildError(pub String);

/// The examples-wasm directory (a sibling of this crate).
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|p| p.join("examples-wasm"))
        .unwrap_or_else(|| PathBuf::from("examples-wasm"))
}

/// Builds all guests (once per process; later calls return the cached result).
pub fn build() -> Result<&'static Examples, BuildError> {
    static BUILT: OnceLock<Result<Examples, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| build_uncached().map_err(|e| e.0))
        .as_ref()
        .map_err(|e| BuildError(e.clone()))
}

fn build_uncached() -> Result<Examples, BuildError> {
    let dir = examples_dir();
    let target_dir = dir.join("target");
    std::fs::create_dir_all(&target_dir).map_err(|e| BuildError(format!("{e}")))?;
    let lock_path = target_dir.join(".skiff-build.lock");
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| BuildError(format!("{}: {e}", lock_path.display())))?;
    // Held until the end of this function: other processes wait here, then find an
    // up-to-date build and cargo returns quickly.
    lock.lock()
        .map_err(|e| BuildError(format!("locking {}: {e}", lock_path.display())))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(&dir)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--quiet"])
        .env("CARGO_TARGET_DIR", &target_dir)
        // Flags meant for the host build must not leak into the guest build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .map_err(|e| BuildError(format!("running cargo: {e}")))?;
    if !output.status.success() {
        return Err(BuildError(format!(
            "{}\n{}\nhint: `rustup target add wasm32-wasip2`",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let out = target_dir.join("wasm32-wasip2").join("release");
    let mut wasm = BTreeMap::new();
    for name in GUESTS {
        let path = out.join(format!("{name}.wasm"));
        if !path.is_file() {
            return Err(BuildError(format!(
                "{} missing after build",
                path.display()
            )));
        }
        wasm.insert((*name).to_owned(), path);
    }
    drop(lock);
    Ok(Examples {
        wasm,
        p1_job_wat: dir.join("wat").join("p1-job.wat"),
    })
}
