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
        start_writeback(file, self.len, bytes.len());
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

/// Asks the kernel to start writing the `len` bytes just appended at `offset` to the disk now,
/// without waiting for them, so the fsync at the end finds little left to flush: the disk
/// works while the rest of the blob arrives. Only a hint; if it fails, the fsync does it all.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: usize) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    #[allow(
        unsafe_code,
        reason = "sync_file_range(2) has no safe wrapper in rustix or nix; it only reads its \
                  integer arguments, and the descriptor is borrowed from a live File"
    )]
    // SAFETY: plain integers and an open descriptor; the call touches no memory of ours.
    let _ = unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
    };
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &File, _: u64, _: usize) {}

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
