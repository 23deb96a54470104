//! Where the registry keeps content: a key-value trait (the API server implements it over the
//! Raft store) and the key layout on top of it.
//!
//! Keys (all under `/oci/`, outside the API objects' `/registry/`):
//! - `/oci/blobs/<hex>`: a blob's [`BlobMeta`] (JSON). A blob exists iff this key does; it is
//!   written only once its bytes are durable on a quorum: as files on a majority of the
//!   replicas (`files`, [`BlobMeta::files`]), or, for blobs stored before files, as committed
//!   chunks.
//! - `/oci/chunks/<hex>/<upload>/<index:06>` (blobs stored before files; still read and
//!   collected, never written by a replica): the blob's bytes, [`BlobMeta::chunk_bytes`] per
//!   value (the last one shorter), so no store value or Raft entry grows with the blob. `<upload>` is
//!   `<unix secs>-<random>`, new for each completed upload, so a collection that deletes one
//!   upload's chunks never touches another's, and orphaned chunks show their age.
//! - `/oci/repos/<name>/_manifests/<hex>`: a [`ManifestRecord`] (JSON, the manifest's bytes in
//!   it).
//! - `/oci/repos/<name>/_tags/<tag>`: the digest the tag points at.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

pub const BLOBS: &str = "/oci/blobs/";
pub const CHUNKS: &str = "/oci/chunks/";
pub const REPOS: &str = "/oci/repos/";

/// The largest value one chunk of a new blob occupies in the store.
pub const CHUNK_BYTES: usize = 1024 * 1024;

/// The chunk size of blobs stored before [`BlobMeta::chunk_bytes`] was recorded.
const FIRST_CHUNK_BYTES: u64 = 1024 * 1024;

/// How fresh a read must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Everything acknowledged before the read started (another replica's push included).
    Latest,
    /// Whatever this replica has applied (enough for immutable values known to exist).
    Local,
}

/// One stored value with the revision of its last write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub key: String,
    pub value: Vec<u8>,
    pub revision: u64,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    /// The store could not answer (no leader, a write of unknown outcome, a stopped replica).
    #[error("{0}")]
    Unavailable(String),
    /// A stored value could not be decoded.
    #[error("stored value {key} is damaged: {reason}")]
    Corrupt { key: String, reason: String },
}

/// A replicated key-value store. Writes return once committed.
pub trait Storage: Send + Sync + 'static {
    fn get(
        &self,
        key: &str,
        freshness: Freshness,
    ) -> impl Future<Output = Result<Option<Stored>, StorageError>> + Send;

    /// Up to `limit` keys under `prefix` after `start_after`, in key order (latest).
    fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Stored>, StorageError>> + Send;

    fn put(
        &self,
        key: &str,
        value: Vec<u8>,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Deletes `key` if it exists (and, with `if_revision`, was last written then).
    /// `Ok(false)`: nothing was deleted.
    fn delete(
        &self,
        key: &str,
        if_revision: Option<u64>,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;

    /// Sends a blob this replica is writing as a file to the other replicas while its bytes
    /// arrive (`feed`: each receiver reads it from the first piece and, once it is finished,
    /// checks the whole against the digest it names, [`crate::feed::Feed::digest`]), and
    /// returns once it is durable on a majority of the voters, this replica counted: the
    /// names of the replicas that hold it then. A store with no peers (one replica, or
    /// [`MemoryStorage`]) is its own majority.
    fn replicate(
        &self,
        feed: crate::feed::Feed,
    ) -> impl Future<Output = Result<Vec<String>, StorageError>> + Send {
        let _ = feed;
        async { Ok(Vec::new()) }
    }

    /// A blob's bytes from another replica (`holders` first), not yet checked against
    /// `digest`; `Ok(None)` when no replica could give them.
    fn fetch(
        &self,
        digest: &Digest,
        holders: &[String],
    ) -> impl Future<Output = Result<Option<bytes::Bytes>, StorageError>> + Send {
        let _ = (digest, holders);
        async { Ok(None) }
    }
}

/// What is known of a stored blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobMeta {
    pub size: u64,
    /// Chunk keys of a blob stored in the store (0 for a blob in files).
    #[serde(default)]
    pub chunks: u32,
    /// Names this blob's chunk keys (empty for a blob in files).
    #[serde(default)]
    pub upload: String,
    /// Unix seconds when the blob was stored (garbage collection's grace period runs from it).
    pub created: u64,
    /// Bytes in every chunk but the last (which holds the rest): where a byte range starts.
    #[serde(default = "first_chunk_bytes")]
    pub chunk_bytes: u64,
    /// The bytes are files in the replicas' data directories (`files`), not chunk keys.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub files: bool,
    /// The replicas that held the file when the blob was committed (a majority); the others
    /// fetch it from them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holders: Vec<String>,
}

impl BlobMeta {
    /// The metadata of a blob whose bytes are files on `holders`.
    pub fn in_files(size: u64, created: u64, holders: Vec<String>) -> Self {
        BlobMeta {
            size,
            chunks: 0,
            upload: String::new(),
            created,
            chunk_bytes: FIRST_CHUNK_BYTES,
            files: true,
            holders,
        }
    }
}

fn first_chunk_bytes() -> u64 {
    FIRST_CHUNK_BYTES
}

/// A stored manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRecord {
    pub media_type: String,
    #[serde(with = "bytes_as_string")]
    pub bytes: Vec<u8>,
    /// Blobs it references (config and layers).
    pub blobs: Vec<String>,
    /// Manifests it references (an index's entries).
    pub manifests: Vec<String>,
    pub subject: Option<String>,
    pub artifact_type: Option<String>,
    pub annotations: Option<serde_json::Value>,
}

/// Manifests are JSON text; they are kept as a string so stored records stay readable.
mod bytes_as_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(bytes) {
            Ok(text) => s.serialize_str(text),
            Err(_) => Err(serde::ser::Error::custom("a manifest is not UTF-8")),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Ok(String::deserialize(d)?.into_bytes())
    }
}

pub fn blob_key(digest: &Digest) -> String {
    format!("{BLOBS}{}", digest.hex())
}

pub fn chunk_prefix(hex: &str, upload: &str) -> String {
    format!("{CHUNKS}{hex}/{upload}/")
}

pub fn chunk_key(hex: &str, upload: &str, index: u32) -> String {
    format!("{}{index:06}", chunk_prefix(hex, upload))
}

pub fn manifests_prefix(name: &str) -> String {
    format!("{REPOS}{name}/_manifests/")
}

pub fn manifest_key(name: &str, digest: &Digest) -> String {
    format!("{}{}", manifests_prefix(name), digest.hex())
}

pub fn tags_prefix(name: &str) -> String {
    format!("{REPOS}{name}/_tags/")
}

pub fn tag_key(name: &str, tag: &str) -> String {
    format!("{}{tag}", tags_prefix(name))
}

/// Decodes a stored JSON value, naming the key when it is damaged.
pub fn decode<T: serde::de::DeserializeOwned>(stored: &Stored) -> Result<T, StorageError> {
    serde_json::from_slice(&stored.value).map_err(|e| StorageError::Corrupt {
        key: stored.key.clone(),
        reason: e.to_string(),
    })
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // The records are plain structs of strings and numbers: encoding cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Every key under `prefix`, read page by page.
pub async fn list_all<S: Storage>(storage: &S, prefix: &str) -> Result<Vec<Stored>, StorageError> {
    const PAGE: usize = 64;
    let mut all: Vec<Stored> = Vec::new();
    loop {
        let after = all.last().map(|s| s.key.clone());
        let page = storage.list(prefix, after.as_deref(), PAGE).await?;
        let done = page.len() < PAGE;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

/// The last revision, and each key's value and revision.
type Entries = (u64, BTreeMap<String, (Vec<u8>, u64)>);

/// An in-process store, for tests and for tools that need no replication.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    entries: Mutex<Entries>,
}

impl Storage for MemoryStorage {
    async fn get(&self, key: &str, _: Freshness) -> Result<Option<Stored>, StorageError> {
        let entries = skiff_sync::lock(&self.entries);
        Ok(entries.1.get(key).map(|(value, revision)| Stored {
            key: key.to_owned(),
            value: value.clone(),
            revision: *revision,
        }))
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Stored>, StorageError> {
        let entries = skiff_sync::lock(&self.entries);
        let found = entries.1.range(prefix.to_owned()..);
        Ok(found
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(k, _)| start_after.is_none_or(|after| k.as_str() > after))
            .take(limit)
            .map(|(key, (value, revision))| Stored {
                key: key.clone(),
                value: value.clone(),
                revision: *revision,
            })
            .collect())
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
        let mut entries = skiff_sync::lock(&self.entries);
        entries.0 += 1;
        let revision = entries.0;
        entries.1.insert(key.to_owned(), (value, revision));
        Ok(())
    }

    async fn delete(&self, key: &str, if_revision: Option<u64>) -> Result<bool, StorageError> {
        let mut entries = skiff_sync::lock(&self.entries);
        let matches = match (entries.1.get(key), if_revision) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some((_, revision)), Some(wanted)) => *revision == wanted,
        };
        if matches {
            entries.0 += 1;
            entries.1.remove(key);
        }
        Ok(matches)
    }
}
