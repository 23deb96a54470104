//! The log's write-ahead file (`raft-log.wal`): appends are made durable here with one
//! `fdatasync` of a preallocated, zero-filled file, and reach `raft-log.redb` through commits
//! without fsync. A durable redb commit (a *checkpoint*) names a new WAL epoch in the log's `meta`
//! table; from then on the WAL is rewritten from its start with records of that epoch.
//!
//! A record is `len: u32 | crc32: u32 | epoch: u64 | payload`, little-endian, where `len` is the
//! payload's length, the CRC covers the epoch and the payload, and the payload is a run of
//! `index: u64 | len: u32 | encoded entry` items. A `len` of 0 ends the log (the file is
//! zero-filled when created, and no record is empty).
//!
//! **Invariants**
//! - The WAL's records of the epoch named by the last durable redb commit are exactly the
//!   appends made since that commit, in order. Records of older epochs are never replayed.
//! - The file never changes size after it is created, so overwriting a record and
//!   `fdatasync` touch no file-system metadata. A WAL of another size is refused.
//! - Only a write cut short by a crash (the last record) may fail its CRC. A bad record of the
//!   current epoch with a good one after it is corruption, and the log refuses to open.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The WAL's fixed size. A group of appends that does not fit in what is left is made durable
/// by a checkpoint instead.
pub(super) const CAPACITY: u64 = 8 * 1024 * 1024;
const HEADER: usize = 16;
const ITEM_HEADER: usize = 12;

/// Why the WAL could not be used. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("raft log WAL {path}: {what}: {source}")]
    Io {
        path: PathBuf,
        what: &'static str,
        source: io::Error,
    },
    #[error(
        "raft log WAL {path} is missing, but the log names WAL epoch {epoch}, so acknowledged \
         entries may be in it; nothing was changed (restore the file, or remove this replica's \
         data directory and join it again)"
    )]
    Missing { path: PathBuf, epoch: u64 },
    #[error("raft log WAL {path} is damaged ({reason}); the file was left untouched")]
    Corrupt { path: PathBuf, reason: String },
}

/// The open WAL: where the next record goes and which epoch it carries.
#[derive(Debug)]
pub(super) struct Wal {
    path: PathBuf,
    file: File,
    epoch: u64,
    offset: u64,
}

/// The entries of one record, by index.
pub(super) type Items = Vec<(u64, Vec<u8>)>;

impl Wal {
    /// Opens the WAL beside the log at `log_path` and reads the records of `epoch` (`None`: the
    /// log predates the WAL or is new, so a missing WAL is created). Writing starts once the
    /// caller checkpoints with [`Wal::restart`].
    pub(super) fn open(log_path: &Path, epoch: Option<u64>) -> Result<(Wal, Vec<Items>), WalError> {
        let path = log_path.with_extension("wal");
        let io = |what: &'static str| {
            let path = path.clone();
            move |source: io::Error| WalError::Io { path, what, source }
        };
        let file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => match epoch {
                Some(epoch) => return Err(WalError::Missing { path, epoch }),
                None => create(&path).map_err(io("cannot create it"))?,
            },
            Err(e) => return Err(io("cannot open it")(e)),
        };
        let len = file.metadata().map_err(io("cannot inspect it"))?.len();
        if len != CAPACITY {
            return Err(WalError::Corrupt {
                path,
                reason: format!("it is {len} bytes, a WAL is always {CAPACITY}"),
            });
        }
        let records = match epoch {
            Some(epoch) => {
                let mut bytes = vec![0u8; CAPACITY as usize];
                file.read_exact_at(&mut bytes, 0)
                    .map_err(io("cannot read it"))?;
                read_records(&bytes, epoch).map_err(|reason| WalError::Corrupt {
                    path: path.clone(),
                    reason,
                })?
            }
            None => Vec::new(),
        };
        let wal = Wal {
            path,
            file,
            epoch: epoch.unwrap_or(0),
            offset: CAPACITY,
        };
        Ok((wal, records))
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// After a durable redb commit that named `epoch`: later records start at the beginning.
    pub(super) fn restart(&mut self, epoch: u64) {
        self.epoch = epoch;
        self.offset = 0;
    }

    /// Writes one record of `groups` without syncing it. `Ok(false)`: it does not fit in what
    /// is left (or no checkpoint has started an epoch yet), and nothing was written.
    pub(super) fn append(&mut self, groups: &[Items]) -> io::Result<bool> {
        let payload: usize = groups
            .iter()
            .flatten()
            .map(|(_, bytes)| ITEM_HEADER + bytes.len())
            .sum();
        let size = (HEADER + payload) as u64;
        if payload == 0 || self.offset + size > CAPACITY {
            return Ok(payload == 0);
        }
        let mut record = Vec::with_capacity(HEADER + payload);
        record.extend_from_slice(&u32::try_from(payload).unwrap_or(u32::MAX).to_le_bytes());
        record.extend_from_slice(&[0; 4]);
        record.extend_from_slice(&self.epoch.to_le_bytes());
        for (index, bytes) in groups.iter().flatten() {
            record.extend_from_slice(&index.to_le_bytes());
            record.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes());
            record.extend_from_slice(bytes);
        }
        let crc = crc32fast::hash(&record[8..]);
        record[4..8].copy_from_slice(&crc.to_le_bytes());
        self.file.write_all_at(&record, self.offset)?;
        self.offset += size;
        Ok(true)
    }

    /// Makes every record written so far durable.
    pub(super) fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// Creates a zero-filled WAL under a temporary name and renames it into place.
fn create(path: &Path) -> io::Result<File> {
    let tmp = path.with_extension("wal.creating");
    let file = File::create(&tmp)?;
    let zeros = vec![0u8; 1024 * 1024];
    for chunk in 0..CAPACITY / zeros.len() as u64 {
        file.write_all_at(&zeros, chunk * zeros.len() as u64)?;
    }
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        File::open(parent)?.sync_all()?;
    }
    OpenOptions::new().read(true).write(true).open(path)
}

/// One record parsed at some offset.
enum Parsed {
    Record {
        items: Items,
        next: usize,
    },
    /// The end of the log: a zero length, another epoch, or no room for a header.
    End,
    /// A record of this epoch whose CRC or items do not check out.
    Bad {
        reason: String,
        next: Option<usize>,
    },
}

fn parse(bytes: &[u8], at: usize, epoch: u64) -> Parsed {
    let Some(header) = bytes.get(at..at + HEADER) else {
        return Parsed::End;
    };
    let len = u32::from_le_bytes(header[0..4].try_into().unwrap_or_default()) as usize;
    let crc = u32::from_le_bytes(header[4..8].try_into().unwrap_or_default());
    let found = u64::from_le_bytes(header[8..16].try_into().unwrap_or_default());
    if len == 0 || found != epoch {
        return Parsed::End;
    }
    let Some(payload) = bytes.get(at + HEADER..at + HEADER + len) else {
        return Parsed::Bad {
            reason: format!("the record at byte {at} runs past the end"),
            next: None,
        };
    };
    let next = Some(at + HEADER + len);
    if crc32fast::hash(&bytes[at + 8..at + HEADER + len]) != crc {
        return Parsed::Bad {
            reason: format!("the record at byte {at} fails its checksum"),
            next,
        };
    }
    let mut items = Vec::new();
    let mut rest = payload;
    while !rest.is_empty() {
        let Some((head, tail)) = rest.split_at_checked(ITEM_HEADER) else {
            return Parsed::Bad {
                reason: format!("the record at byte {at} ends inside an entry"),
                next,
            };
        };
        let index = u64::from_le_bytes(head[0..8].try_into().unwrap_or_default());
        let size = u32::from_le_bytes(head[8..12].try_into().unwrap_or_default()) as usize;
        let Some((entry, tail)) = tail.split_at_checked(size) else {
            return Parsed::Bad {
                reason: format!("the record at byte {at} ends inside entry {index}"),
                next,
            };
        };
        items.push((index, entry.to_vec()));
        rest = tail;
    }
    Parsed::Record {
        items,
        next: at + HEADER + len,
    }
}

/// The records of `epoch` from the start of `bytes`, up to the first that is not one. A bad
/// record is taken for a write cut short only if no good record of the epoch follows it.
fn read_records(bytes: &[u8], epoch: u64) -> Result<Vec<Items>, String> {
    let mut records = Vec::new();
    let mut at = 0;
    loop {
        match parse(bytes, at, epoch) {
            Parsed::Record { items, next } => {
                records.push(items);
                at = next;
            }
            Parsed::End => return Ok(records),
            Parsed::Bad { reason, next } => {
                let followed = next
                    .is_some_and(|next| matches!(parse(bytes, next, epoch), Parsed::Record { .. }));
                return if followed {
                    Err(format!(
                        "{reason}, and a good record of epoch {epoch} follows it"
                    ))
                } else {
                    Ok(records)
                };
            }
        }
    }
}

#[cfg(test)]
#[path = "wal_tests.rs"]
mod tests;
