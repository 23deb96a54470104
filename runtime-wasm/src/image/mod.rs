//! Image service: resolves an image reference to Wasm bytes in a content-addressed cache.
//!
//! References: `/abs/path.wasm`, `./rel.wasm`, `file:///abs/path.wasm` read from disk;
//! anything else is an OCI reference pulled with oci-client (see [`oci`]). Either way the
//! bytes land in [`store::BlobStore`] under their sha256, which is what the compile cache keys on.

pub mod oci;
pub mod store;

use crate::error::ImageError;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use oci::{OciAuth, OciConfig};
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

/// Pulls images into a blob store.
#[derive(Debug, Clone)]
pub struct ImageService {
    store: Arc<BlobStore>,
    oci: OciConfig,
    max_bytes: u64,
}

impl ImageService {
    pub fn new(store: Arc<BlobStore>, oci: OciConfig) -> Self {
        ImageService {
            store,
            oci,
            max_bytes: DEFAULT_MAX_IMAGE_BYTES,
        }
    }

    /// The underlying blob store.
    pub fn store(&self) -> &Arc<BlobStore> {
        &self.store
    }

    /// Resolves `reference` to cached bytes, pulling it if needed.
    pub async fn pull(&self, reference: &str) -> Result<PulledImage, ImageError> {
        if let Some(path) = local_path(reference) {
            return self.pull_file(reference, &path).await;
        }
        let pulled = oci::pull(&self.oci, reference, self.max_bytes).await?;
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
        let size = tokio::fs::metadata(path).await.map_err(read_err)?.len();
        if size > self.max_bytes {
            return Err(ImageError::TooLarge {
                reference: reference.to_owned(),
                size,
                limit: self.max_bytes,
            });
        }
        let bytes = tokio::fs::read(path).await.map_err(read_err)?;
        let digest = self.store.put(&bytes).await?;
        Ok(PulledImage {
            reference: reference.to_owned(),
            path: self.store.path_of(&digest),
            digest,
        })
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
