//! Which blob files are known to match their digest, so a pull need not hash the file again.
//!
//! A file counts as verified while its identity is the one recorded when its bytes were last
//! checked: device, inode, size, modification and change time ([`FileIdentity`]). Any write
//! through the file system (a write, truncation, `touch`, `chmod`, a replacing rename) changes
//! one of them (the change time cannot be set from user space), so the next pull hashes the
//! file again before it sends a byte. What this cannot see is damage that bypasses the file
//! system (bit rot, a write to the raw device) or a same-size rewrite within one tick of the
//! file system's clock after the check: the scrub ([`BlobFiles::scrub`], run by every
//! convergence pass) re-hashes the files not checked for a while and removes the ones that no
//! longer match (convergence then fetches a good copy from another replica).

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{BlobFiles, FileError};
use crate::digest::Digest;

/// What identifies one version of a file: any write through the file system changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileIdentity {
    device: u64,
    inode: u64,
    size: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl FileIdentity {
    /// The identity of the file `metadata` describes (taken with `fstat` on an open file, so it
    /// names the bytes that file handle reads).
    pub fn of(metadata: &Metadata) -> Self {
        FileIdentity {
            device: metadata.dev(),
            inode: metadata.ino(),
            size: metadata.size(),
            modified: (metadata.mtime(), metadata.mtime_nsec()),
            changed: (metadata.ctime(), metadata.ctime_nsec()),
        }
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// The files checked against their digest, by hex digest: the identity they had when checked
/// and when that was.
#[derive(Debug, Default)]
pub struct VerifiedFiles {
    checked: Mutex<HashMap<String, (FileIdentity, Instant)>>,
}

impl VerifiedFiles {
    /// Records that the file `hex`, as `identity` names it, matched its digest just now.
    pub fn record(&self, hex: &str, identity: FileIdentity) {
        let mut checked = skiff_sync::lock(&self.checked);
        checked.insert(hex.to_owned(), (identity, Instant::now()));
    }

    /// Forgets the file `hex` (removed, replaced or found damaged).
    pub fn forget(&self, hex: &str) {
        skiff_sync::lock(&self.checked).remove(hex);
    }

    /// Whether the file `hex` as `identity` names it is the version last checked.
    pub fn holds(&self, hex: &str, identity: &FileIdentity) -> bool {
        let checked = skiff_sync::lock(&self.checked);
        checked.get(hex).is_some_and(|(known, _)| known == identity)
    }

    /// Whether the file `hex` is due a check: never checked, or last checked `age` ago or more.
    pub fn due(&self, hex: &str, age: Duration) -> bool {
        let checked = skiff_sync::lock(&self.checked);
        checked
            .get(hex)
            .is_none_or(|(_, when)| when.elapsed() >= age)
    }

    /// When the file `hex` was last checked (`None`: never, as far as this process knows).
    pub fn checked_at(&self, hex: &str) -> Option<Instant> {
        skiff_sync::lock(&self.checked)
            .get(hex)
            .map(|(_, when)| *when)
    }

    /// Drops the records of files that are no longer there.
    pub fn retain(&self, present: impl Fn(&str) -> bool) {
        skiff_sync::lock(&self.checked).retain(|hex, _| present(hex));
    }
}

/// What one scrub did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scrubbed {
    /// Files hashed and found to match.
    pub checked: usize,
    /// Files that did not match, removed.
    pub removed: usize,
}

impl BlobFiles {
    /// Hashes the files never checked by this process or last checked `age` ago or more, the
    /// longest unchecked first, until about `budget` bytes were read (at least one file, so a
    /// file larger than the budget is still checked). Files that do not match are removed.
    pub fn scrub(&self, age: Duration, budget: u64) -> Result<Scrubbed, FileError> {
        let listed = self.list()?;
        self.verified
            .retain(|hex| listed.iter().any(|file| file.hex == hex));
        let mut due: Vec<_> = listed
            .iter()
            .filter(|file| self.verified.due(&file.hex, age))
            .map(|file| (self.verified.checked_at(&file.hex), &file.hex))
            .collect();
        // Never checked (`None`) first, then the oldest check.
        due.sort();
        let mut done = Scrubbed::default();
        let mut read = 0u64;
        for (_, hex) in due {
            if read >= budget {
                break;
            }
            let Ok(digest) = Digest::parse(&format!("sha256:{hex}")) else {
                continue;
            };
            match self.read(&digest)? {
                Some(bytes) => {
                    read += bytes.len() as u64;
                    done.checked += 1;
                }
                None => done.removed += 1,
            }
        }
        Ok(done)
    }
}
