//! Blob bytes as files in the replica's data directory, content-addressed:
//! `<dir>/sha256/<first two hex>/<hex>`. A file is written to `<dir>/tmp/`, fsynced, renamed
//! into place and its directory fsynced, so a crash leaves the whole blob or none of it. A file
//! is served only once checked against the digest: [`BlobFiles::read`] hashes it, and a file
//! that does not match (corrupt or truncated) is removed and reported as missing, never served;
//! [`BlobFiles::open_verified`] opens a file only while it is the version last checked
//! ([`verified`]: written here from checked bytes, or read and hashed), so a pull of an
//! unchanged file streams it without hashing it again. [`BlobFiles::scrub`] re-hashes files
//! not checked for a while (damage that no metadata shows).
//!
//! The calls block (file I/O): async callers run them on `spawn_blocking`.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rand::Rng;

use crate::digest::Digest;

pub mod incoming;
pub mod verified;

pub use incoming::Incoming;
pub use verified::Scrubbed;
use verified::{FileIdentity, VerifiedFiles};

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
    /// The files known to match their digest (this process checked or wrote them).
    verified: VerifiedFiles,
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
            verified: VerifiedFiles::default(),
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

    /// Stores `bytes`, already checked against `digest`: temp file, then [`Self::install`].
    pub fn write_verified(&self, digest: &Digest, bytes: &[u8]) -> Result<(), FileError> {
        let tmp = self.new_tmp_path();
        let mut file = File::create(&tmp).map_err(io(&tmp))?;
        file.write_all(bytes).map_err(io(&tmp))?;
        self.install(&tmp, &file, digest)
    }

    /// A fresh name in the temporary directory.
    fn new_tmp_path(&self) -> PathBuf {
        self.tmp_dir()
            .join(format!("{:016x}", rand::rng().random::<u64>()))
    }

    /// Moves `tmp` (open as `file`, its bytes checked against `digest`) into place: fsync,
    /// rename over any file there (it may be a damaged copy), fsync of the directory; the new
    /// file is recorded as verified (its identity taken after the rename, which changes it).
    /// On failure the temporary file is removed.
    fn install(&self, tmp: &Path, file: &File, digest: &Digest) -> Result<(), FileError> {
        if let Err(e) = file.sync_all() {
            let _ = fs::remove_file(tmp);
            return Err(io(tmp)(e));
        }
        let path = self.path(digest.hex());
        let parent = path.parent().unwrap_or(&self.dir).to_owned();
        if let Err(e) = fs::create_dir_all(&parent) {
            let _ = fs::remove_file(tmp);
            return Err(io(&parent)(e));
        }
        self.verified.forget(digest.hex());
        if let Err(e) = fs::rename(tmp, &path) {
            let _ = fs::remove_file(tmp);
            return Err(io(&path)(e));
        }
        File::open(&parent)
            .and_then(|d| d.sync_all())
            .map_err(io(&parent))?;
        let written = file.metadata().map_err(io(&path))?;
        self.verified
            .record(digest.hex(), FileIdentity::of(&written));
        Ok(())
    }

    /// The blob's bytes if its file is here and matches the digest. A file that does not match
    /// is removed (logged) and the answer is `None`, as for a missing one.
    /// A file that matches is recorded as verified (with its identity from before the read,
    /// so a change while it was read makes the next pull check it again).
    pub fn read(&self, digest: &Digest) -> Result<Option<Vec<u8>>, FileError> {
        let path = self.path(digest.hex());
        let Some(mut file) = open_existing(&path)? else {
            return Ok(None);
        };
        let identity = FileIdentity::of(&file.metadata().map_err(io(&path))?);
        let mut bytes = Vec::with_capacity(usize::try_from(identity.size()).unwrap_or(0));
        file.read_to_end(&mut bytes).map_err(io(&path))?;
        if digest.verify(&bytes).is_ok() {
            self.verified.record(digest.hex(), identity);
            return Ok(Some(bytes));
        }
        self.verified.forget(digest.hex());
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

    /// The blob's file, open, if it is the version last checked against the digest (its
    /// identity taken from the open file, so a file replaced meanwhile is not mistaken for
    /// it); `None` if it is missing or not known to match (then [`BlobFiles::read`] checks it).
    pub fn open_verified(&self, digest: &Digest) -> Result<Option<(File, u64)>, FileError> {
        let path = self.path(digest.hex());
        let Some(file) = open_existing(&path)? else {
            return Ok(None);
        };
        let identity = FileIdentity::of(&file.metadata().map_err(io(&path))?);
        match self.verified.holds(digest.hex(), &identity) {
            true => Ok(Some((file, identity.size()))),
            false => Ok(None),
        }
    }

    /// The record of which files match their digest.
    pub fn verified(&self) -> &VerifiedFiles {
        &self.verified
    }

    /// Removes the blob's file; `Ok(false)` if there was none.
    pub fn remove(&self, hex: &str) -> Result<bool, FileError> {
        self.verified.forget(hex);
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

/// The file at `path` opened for reading; `None` if there is none.
fn open_existing(path: &Path) -> Result<Option<File>, FileError> {
    match File::open(path) {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_incoming;
#[cfg(test)]
mod tests_verified;
