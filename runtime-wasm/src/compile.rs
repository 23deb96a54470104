//! Compiled-code cache: Wasm bytes -> `Component`/`Module`, keyed by content digest and the
//! engine's compatibility fingerprint, so a restart or a second pod never recompiles.
//!
//! On a miss the bytes are checked (magic, size), precompiled on a blocking thread within a
//! time bound, written atomically to `<dir>/<fingerprint>/<digest>.cwasm`, then loaded with
//! `deserialize_file` exactly like a hit. [`ModuleCache::compile_count`] counts real compiles.
//! Loads of one digest are single-flight: a burst of pods of one new image compiles it once,
//! the others wait for that compile instead of each running cranelift on the same bytes.

use crate::error::CompileError;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;
use wasmtime::component::Component;
use wasmtime::{Engine, Module};

/// A loaded artifact.
#[derive(Clone)]
pub enum Compiled {
    Component(Component),
    Module(Module),
}

/// Bounds on what is compiled.
#[derive(Debug, Clone, Copy)]
pub struct CompileLimits {
    pub max_bytes: u64,
    pub timeout: Duration,
}

impl Default for CompileLimits {
    fn default() -> Self {
        CompileLimits {
            max_bytes: 64 << 20,
            timeout: Duration::from_secs(60),
        }
    }
}

/// The cache.
pub struct ModuleCache {
    engine: Engine,
    dir: PathBuf,
    limits: CompileLimits,
    compiles: AtomicU64,
    /// One cell per digest: the first loader fills it, concurrent loaders of the same digest
    /// wait on it; a failed load leaves it empty, so the next caller tries again.
    loaded: Mutex<HashMap<String, Arc<OnceCell<Compiled>>>>,
}

impl std::fmt::Debug for ModuleCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleCache")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Feeds `Hash` output into sha256 so the fingerprint is stable across processes.
struct ShaHasher(Sha256);
impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// Hex fingerprint of everything that makes compiled code compatible with `engine`.
pub fn engine_fingerprint(engine: &Engine) -> String {
    let mut h = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    hex::encode(&h.0.finalize()[..16])
}

/// A temp-file suffix unique across processes and concurrent writers in this process.
pub fn unique_tmp_suffix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "tmp-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// What a Wasm binary is, from its header.
fn classify(bytes: &[u8]) -> Result<bool, CompileError> {
    let trimmed = bytes.trim_ascii_start();
    if trimmed.starts_with(b"(") || trimmed.starts_with(b";;") {
        // WebAssembly text: a core module unless it says component.
        return Ok(trimmed.starts_with(b"(component"));
    }
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(CompileError::NotWasm(
            bytes.iter().take(8).copied().collect(),
        ));
    }
    // Core modules have version 1 and layer 0; components have layer 1.
    Ok(bytes[6..8] == [1, 0])
}

impl ModuleCache {
    pub fn new(
        engine: Engine,
        dir: impl Into<PathBuf>,
        limits: CompileLimits,
    ) -> Result<Self, CompileError> {
        let dir = dir.into().join(engine_fingerprint(&engine));
        std::fs::create_dir_all(&dir).map_err(|source| CompileError::Cache {
            path: dir.clone(),
            source,
        })?;
        Ok(ModuleCache {
            engine,
            dir,
            limits,
            compiles: AtomicU64::new(0),
            loaded: Mutex::new(HashMap::new()),
        })
    }

    /// How many times this cache actually compiled (misses on both memory and disk).
    pub fn compile_count(&self) -> u64 {
        self.compiles.load(Ordering::Relaxed)
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn artifact_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.dir.join(format!("{hex}.cwasm"))
    }

    /// Loads the artifact for the blob `digest` stored at `blob`.
    pub async fn load(&self, digest: &str, blob: &Path) -> Result<Compiled, CompileError> {
        let cell = skiff_sync::lock(&self.loaded)
            .entry(digest.to_owned())
            .or_default()
            .clone();
        cell.get_or_try_init(|| self.load_uncached(digest, blob))
            .await
            .cloned()
    }

    /// Reads the blob, compiles it when no artifact is on disk, and deserializes the artifact.
    async fn load_uncached(&self, digest: &str, blob: &Path) -> Result<Compiled, CompileError> {
        let cache_err = |path: &Path| {
            let path = path.to_owned();
            move |source| CompileError::Cache { path, source }
        };
        let artifact = self.artifact_path(digest);
        let meta = tokio::fs::metadata(blob).await.map_err(cache_err(blob))?;
        if meta.len() > self.limits.max_bytes {
            return Err(CompileError::TooLarge {
                size: meta.len(),
                limit: self.limits.max_bytes,
            });
        }
        let bytes = tokio::fs::read(blob).await.map_err(cache_err(blob))?;
        let is_component = classify(&bytes)?;
        if !artifact.is_file() {
            let engine = self.engine.clone();
            let job = tokio::task::spawn_blocking(move || {
                if is_component {
                    engine.precompile_component(&bytes)
                } else {
                    engine.precompile_module(&bytes)
                }
            });
            // A compile past the bound is abandoned (it finishes on its blocking thread and
            // its result is dropped); the caller gets a clear error.
            let compiled = tokio::time::timeout(self.limits.timeout, job)
                .await
                .map_err(|_| CompileError::Timeout(self.limits.timeout))?
                .map_err(|e| CompileError::Invalid(format!("compiler task failed: {e}")))?
                .map_err(|e| CompileError::Invalid(format!("{e:#}")))?;
            self.compiles.fetch_add(1, Ordering::Relaxed);
            let tmp = artifact.with_extension(unique_tmp_suffix());
            tokio::fs::write(&tmp, &compiled)
                .await
                .map_err(cache_err(&tmp))?;
            tokio::fs::rename(&tmp, &artifact)
                .await
                .map_err(cache_err(&artifact))?;
        }
        self.deserialize(&artifact, is_component)
    }

    #[allow(
        unsafe_code,
        reason = "wasmtime's deserialize_file is unsafe; see SAFETY"
    )]
    fn deserialize(&self, artifact: &Path, is_component: bool) -> Result<Compiled, CompileError> {
        // SAFETY: the file was produced by `precompile_*` of an engine with this very
        // fingerprint (the directory is keyed by it) and written atomically by us into our
        // private cache directory; wasmtime still checks the header and engine compatibility.
        let result = unsafe {
            if is_component {
                Component::deserialize_file(&self.engine, artifact).map(Compiled::Component)
            } else {
                Module::deserialize_file(&self.engine, artifact).map(Compiled::Module)
            }
        };
        result.map_err(|e| CompileError::Invalid(format!("loading cached artifact: {e:#}")))
    }
}
