//! Blob bytes as files in the replica's data directory, content-addressed:
//! `<dir>/sha256/<first two hex>/<hex>`. A file is written to `<dir>/tmp/`, fsynced, renamed
//! into place and its directory fsynced, so a crash leaves the whole blob or none of it. Every
//! read is checked against the digest; a file that does not match (corrupt or truncated) is
//! removed and reported as missing, never served.
//!
//! The calls block (file I/O): async callers run them on `spawn_blocking`.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rand::Rng;

use crate::digest::Digest;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("blob file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the bytes sent for {digest} hash to another digest")]
    Mismatch { digest: String },
}

/// A blob file as the sweep sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobFile {
    pub hex: String,
    pub modified: SystemTime,
}

/// One replica's blob files.
#[derive(Debug)]
pub struct BlobFiles {
    dir: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |source| FileError::Io {
        path: path.to_owned(),
        source,
    }
}

impl BlobFiles {
    /// Opens (creating) the store under `dir`, removing temporary files a crash left behind.
    pub fn open(dir: &Path) -> Result<Self, FileError> {
        let files = BlobFiles {
            dir: dir.to_owned(),
        };
        let tmp = files.tmp_dir();
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        let blobs = dir.join("sha256");
        fs::create_dir_all(&blobs).map_err(io(&blobs))?;
        Ok(files)
    }

    fn tmp_dir(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    /// Where the blob `hex` lives (whether or not it is there).
    pub fn path(&self, hex: &str) -> PathBuf {
        let fan = hex.get(..2).unwrap_or("00");
        self.dir.join("sha256").join(fan).join(hex)
    }

    /// Stores `bytes` as `digest` after checking they hash to it.
    pub fn write(&self, digest: &Digest, bytes: &[u8]) -> Result<(), FileError> {
        if digest.verify(bytes).is_err() {
            return Err(FileError::Mismatch {
                digest: digest.to_string(),
            });
        }
        self.write_verified(digest, bytes)
    }

    /// Stores `bytes`, already checked against `digest`: temp file, fsync, rename, fsync of
    /// the directory. A file already there is replaced (it may be a damaged copy).
    pub fn write_verified(&self, digest: &Digest, bytes: &[u8]) -> Result<(), FileError> {
        let tmp = self
            .tmp_dir()
            .join(format!("{:016x}", rand::rng().random::<u64>()));
        let mut file = File::create(&tmp).map_err(io(&tmp))?;
        file.write_all(bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        drop(file);
        let path = self.path(digest.hex());
        let parent = path.parent().unwrap_or(&self.dir).to_owned();
        fs::create_dir_all(&parent).map_err(io(&parent))?;
        if let Err(e) = fs::rename(&tmp, &path) {
            let _ = fs::remove_file(&tmp);
            return Err(io(&path)(e));
        }
        File::open(&parent)
            .and_then(|d| d.sync_all())
            .map_err(io(&parent))
    }

    /// The blob's bytes if its file is here and matches the digest. A file that does not match
    /// is removed (logged) and the answer is `None`, as for a missing one.
    pub fn read(&self, digest: &Digest) -> Result<Option<Vec<u8>>, FileError> {
        let path = self.path(digest.hex());
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        if digest.verify(&bytes).is_ok() {
            return Ok(Some(bytes));
        }
        tracing::warn!(path = %path.display(), size = bytes.len(), "a blob file does not match its digest; removing it");
        match fs::remove_file(&path) {
            Ok(()) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Whether a file for `hex` exists (not checked against its digest).
    pub fn contains(&self, hex: &str) -> bool {
        self.path(hex).is_file()
    }

    /// Removes the blob's file; `Ok(false)` if there was none.
    pub fn remove(&self, hex: &str) -> Result<bool, FileError> {
        let path = self.path(hex);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Every blob file here, with its modification time.
    pub fn list(&self) -> Result<Vec<BlobFile>, FileError> {
        let root = self.dir.join("sha256");
        let mut found = Vec::new();
        for fan in fs::read_dir(&root).map_err(io(&root))? {
            let fan = fan.map_err(io(&root))?.path();
            if !fan.is_dir() {
                continue;
            }
            for entry in fs::read_dir(&fan).map_err(io(&fan))? {
                let entry = entry.map_err(io(&fan))?;
                let modified = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .map_err(io(&entry.path()))?;
                let hex = entry.file_name().to_string_lossy().into_owned();
                found.push(BlobFile { hex, modified });
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests;
