//! Image service: resolves an image reference to Wasm bytes in a content-addressed cache.
//!
//! References: `/abs/path.wasm`, `./rel.wasm`, `file:///abs/path.wasm` read from disk;
//! anything else is an OCI reference pulled with oci-client (see [`oci`]). Either way the
//! bytes land in [`store::BlobStore`] under their sha256, which is what the compile cache keys on.

pub mod oci;
pub mod store;

use crate::error::ImageError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use oci::{BUILTIN_HOST, BuiltinRegistry, OciAuth, OciConfig};
pub use store::BlobStore;

/// Largest image accepted; bigger files are refused before they are read whole.
pub const DEFAULT_MAX_IMAGE_BYTES: u64 = 256 << 20;

/// A resolved image: its digest and where its bytes are cached.
#[derive(Debug, Clone)]
pub struct PulledImage {
    /// The reference as given.
    pub reference: String,
    /// `sha256:<hex>` of the Wasm bytes.
    pub digest: String,
    /// Path of the cached blob.
    pub path: PathBuf,
}

/// What identifies a local file's version without reading it (as make and git do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl FileStamp {
    fn of(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        FileStamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// Local files already hashed, by path: a file whose stamp is unchanged is not read again.
type LocalPulls = Mutex<HashMap<PathBuf, (FileStamp, PulledImage)>>;

/// Pulls images into a blob store.
#[derive(Debug, Clone)]
pub struct ImageService {
    store: Arc<BlobStore>,
    oci: OciConfig,
    max_bytes: u64,
    local: Arc<LocalPulls>,
}

impl ImageService {
    pub fn new(store: Arc<BlobStore>, oci: OciConfig) -> Self {
        ImageService {
            store,
            oci,
            max_bytes: DEFAULT_MAX_IMAGE_BYTES,
            local: Arc::default(),
        }
    }

    /// The underlying blob store.
    pub fn store(&self) -> &Arc<BlobStore> {
        &self.store
    }

    /// Resolves `reference` to cached bytes, pulling it if needed.
    pub async fn pull(&self, reference: &str) -> Result<PulledImage, ImageError> {
        self.pull_with(reference, None).await
    }

    /// [`pull`](Self::pull) with credentials for the reference's registry (a pod's
    /// `imagePullSecrets`), used instead of the configured ones.
    pub async fn pull_with(
        &self,
        reference: &str,
        auth: Option<&OciAuth>,
    ) -> Result<PulledImage, ImageError> {
        if let Some(path) = local_path(reference) {
            return self.pull_file(reference, &path).await;
        }
        let pulled = oci::pull(&self.oci, reference, auth, self.max_bytes).await?;
        let digest = self.store.put(&pulled).await?;
        Ok(PulledImage {
            reference: reference.to_owned(),
            path: self.store.path_of(&digest),
            digest,
        })
    }

    async fn pull_file(&self, reference: &str, path: &Path) -> Result<PulledImage, ImageError> {
        let read_err = |source| ImageError::Read {
            path: path.to_owned(),
            source,
        };
        // A local stat is a few microseconds; no blocking-pool hop for it.
        let meta = std::fs::metadata(path).map_err(read_err)?;
        let stamp = FileStamp::of(&meta);
        if let Some((seen, image)) = self.local_pulls().get(path)
            && *seen == stamp
        {
            return Ok(PulledImage {
                reference: reference.to_owned(),
                ..image.clone()
            });
        }
        let size = meta.len();
        if size > self.max_bytes {
            return Err(ImageError::TooLarge {
                reference: reference.to_owned(),
                size,
                limit: self.max_bytes,
            });
        }
        let bytes = tokio::fs::read(path).await.map_err(read_err)?;
        let digest = self.store.put(&bytes).await?;
        let image = PulledImage {
            reference: reference.to_owned(),
            path: self.store.path_of(&digest),
            digest,
        };
        self.local_pulls()
            .insert(path.to_owned(), (stamp, image.clone()));
        Ok(image)
    }

    /// Whether `reference` resolves to bytes already here without fetching anything: a local
    /// file unchanged since it was last read (a stat, no read). OCI references are resolved
    /// through their registry on every pull, so they count as not present.
    pub fn is_present(&self, reference: &str) -> bool {
        let Some(path) = local_path(reference) else {
            return false;
        };
        let Ok(meta) = std::fs::metadata(&path) else {
            return false;
        };
        let stamp = FileStamp::of(&meta);
        self.local_pulls()
            .get(&path)
            .is_some_and(|(seen, image)| *seen == stamp && self.store.contains(&image.digest))
    }

    fn local_pulls(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, (FileStamp, PulledImage)>> {
        skiff_sync::lock(&self.local)
    }
}

/// A local path if `reference` names a file rather than an OCI reference.
pub fn local_path(reference: &str) -> Option<PathBuf> {
    if let Some(rest) = reference.strip_prefix("file://") {
        return Some(PathBuf::from(rest));
    }
    if reference.starts_with('/') || reference.starts_with("./") || reference.starts_with("../") {
        return Some(PathBuf::from(reference));
    }
    if reference.ends_with(".wasm") || reference.ends_with(".wat") {
        return Some(PathBuf::from(reference));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn file_references_are_paths_and_oci_references_are_not() {
        assert_eq!(
            local_path("file:///a/b.wasm").unwrap().to_str(),
            Some("/a/b.wasm")
        );
        assert!(local_path("/x.wasm").is_some());
        assert!(local_path("hello.wasm").is_some());
        assert!(local_path("ghcr.io/org/app:1.0").is_none());
        assert!(local_path("localhost:5000/app@sha256:00").is_none());
    }
}
