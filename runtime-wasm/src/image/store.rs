//! Content-addressed blob cache on disk: `<root>/sha256/<hex>`, written atomically.

use crate::error::ImageError;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Blobs (Wasm bytes) by sha256.
#[derive(Debug)]
pub struct BlobStore {
    root: PathBuf,
}

/// `sha256:<hex>` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

impl BlobStore {
    /// Opens (creating) a store under `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, ImageError> {
        let root = root.into();
        let dir = root.join("sha256");
        std::fs::create_dir_all(&dir).map_err(|source| ImageError::Cache { path: dir, source })?;
        Ok(BlobStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path where the blob with `digest` (`sha256:<hex>`) lives.
    pub fn path_of(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.root.join("sha256").join(hex)
    }

    /// True when the blob is already cached.
    pub fn contains(&self, digest: &str) -> bool {
        self.path_of(digest).is_file()
    }

    /// Stores `bytes` (no-op when present) and returns their digest.
    pub async fn put(&self, bytes: &[u8]) -> Result<String, ImageError> {
        let digest = digest_of(bytes);
        let path = self.path_of(&digest);
        if path.is_file() {
            return Ok(digest);
        }
        let cache_err = |source| ImageError::Cache {
            path: path.clone(),
            source,
        };
        // Write to a unique temp name, then rename: readers never see a partial blob.
        let tmp = path.with_extension(crate::compile::unique_tmp_suffix());
        tokio::fs::write(&tmp, bytes).await.map_err(cache_err)?;
        tokio::fs::rename(&tmp, &path).await.map_err(cache_err)?;
        Ok(digest)
    }

    /// Reads a blob back, checking its digest (a corrupted cache entry is an error).
    pub async fn get(&self, digest: &str) -> Result<Vec<u8>, ImageError> {
        let path = self.path_of(digest);
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|source| ImageError::Cache {
                path: path.clone(),
                source,
            })?;
        let actual = digest_of(&bytes);
        if actual != digest {
            return Err(ImageError::DigestMismatch {
                reference: path.display().to_string(),
                expected: digest.to_owned(),
                actual,
            });
        }
        Ok(bytes)
    }
}
