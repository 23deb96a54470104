//! A blob file written while its bytes arrive ([`Incoming`]): appended to a temporary file and
//! hashed on the way, so a replica receiving a pushed blob from a peer writes it during the
//! transfer instead of after it. [`BlobFiles::finish_incoming`] checks the digest, fsyncs and
//! moves the file into place; an `Incoming` dropped unfinished (a transfer cut short, a
//! mismatch) removes its temporary file.

use std::fs::{self, File};
use std::io::Write;
use std::path::PathBuf;

use sha2::{Digest as _, Sha256};

use super::{BlobFiles, FileError, io};
use crate::digest::Digest;

/// A temporary blob file being written, with the hash of what it holds so far.
#[derive(Debug)]
pub struct Incoming {
    tmp: PathBuf,
    /// `None` once handed to [`BlobFiles::finish_incoming`] (the file is then its to move).
    file: Option<File>,
    hasher: Sha256,
    len: u64,
}

impl Incoming {
    /// Appends `bytes` to the file and the hash.
    pub fn append(&mut self, bytes: &[u8]) -> Result<(), FileError> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        file.write_all(bytes).map_err(io(&self.tmp))?;
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

impl BlobFiles {
    /// Starts a blob file whose digest is checked only at the end.
    pub fn incoming(&self) -> Result<Incoming, FileError> {
        let tmp = self.new_tmp_path();
        let file = File::create(&tmp).map_err(io(&tmp))?;
        Ok(Incoming {
            tmp,
            file: Some(file),
            hasher: Sha256::new(),
            len: 0,
        })
    }

    /// Stores what `incoming` holds as `digest` if it hashes to it (fsync, rename, fsync of the
    /// directory, as [`BlobFiles::write_verified`]); else [`FileError::Mismatch`] and the
    /// temporary file is removed.
    pub fn finish_incoming(
        &self,
        mut incoming: Incoming,
        digest: &Digest,
    ) -> Result<(), FileError> {
        let actual = hex::encode(std::mem::take(&mut incoming.hasher).finalize());
        if actual != digest.hex() {
            return Err(FileError::Mismatch {
                digest: digest.to_string(),
            });
        }
        let Some(file) = incoming.file.take() else {
            return Err(FileError::Mismatch {
                digest: digest.to_string(),
            });
        };
        self.install(&incoming.tmp, &file, digest)
    }
}
