//! The newest log entries kept in memory, so replication (which reads the entries it just
//! appended, once per follower) does not go to redb on a blocking thread for each round.
//!
//! **Invariant**: the tail is empty or holds a contiguous run of entries that ends at the log's
//! last entry. Every append, truncation and purge that succeeds in the file is mirrored here, so
//! a read served from the tail returns exactly what redb holds.

use std::collections::VecDeque;

use super::Entry;

/// At most this many entries are kept.
const MAX_ENTRIES: usize = 8192;
/// At most about this many encoded bytes are kept.
const MAX_BYTES: usize = 32 * 1024 * 1024;

#[derive(Default)]
pub(super) struct Tail {
    /// Entries with their encoded size, indices contiguous.
    entries: VecDeque<(Entry, usize)>,
    bytes: usize,
}

impl Tail {
    pub(super) fn first(&self) -> Option<u64> {
        self.entries.front().map(|(e, _)| e.log_id.index)
    }

    /// The id of the newest entry held.
    pub(super) fn last_id(&self) -> Option<super::LogId> {
        self.entries.back().map(|(e, _)| e.log_id)
    }

    fn next(&self) -> Option<u64> {
        self.entries.back().map(|(e, _)| e.log_id.index + 1)
    }

    /// Takes an append of `new` (contiguous, possibly empty) on its way to the file. Entries
    /// below `written_next` are in the file and may be dropped to stay within bounds; newer
    /// ones stay even past the bounds, since only the tail can serve them.
    pub(super) fn append(&mut self, new: Vec<(Entry, usize)>, written_next: u64) {
        let Some(start) = new.first().map(|(e, _)| e.log_id.index) else {
            return;
        };
        match (self.first(), self.next()) {
            (Some(_), Some(next)) if start == next => {}
            // An append over existing indices replaces them (openraft truncates first anyway).
            (Some(first), Some(next)) if first <= start && start < next => {
                self.truncate_after(start.checked_sub(1));
            }
            // A gap, or an append before the tail: start over from these entries.
            _ => self.clear(),
        }
        for (entry, size) in new {
            self.bytes += size;
            self.entries.push_back((entry, size));
        }
        while self.entries.len() > MAX_ENTRIES || (self.bytes > MAX_BYTES && self.entries.len() > 1)
        {
            match self.entries.front() {
                Some((entry, size)) if entry.log_id.index < written_next => {
                    self.bytes -= *size;
                    self.entries.pop_front();
                }
                _ => break,
            }
        }
    }

    /// Mirrors the removal of every entry after `after` (`None`: every entry).
    pub(super) fn truncate_after(&mut self, after: Option<u64>) {
        let keep_below = after.map_or(0, |a| a + 1);
        while let Some((entry, size)) = self.entries.back() {
            if entry.log_id.index < keep_below {
                break;
            }
            self.bytes -= *size;
            self.entries.pop_back();
        }
    }

    /// Mirrors a purge of every entry up to and including `upto`.
    pub(super) fn purge_upto(&mut self, upto: u64) {
        while let Some((entry, size)) = self.entries.front() {
            if entry.log_id.index > upto {
                break;
            }
            self.bytes -= *size;
            self.entries.pop_front();
        }
    }

    /// Forgets everything (after a failed write, when the file's state is unknown).
    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// Entries `start..end` (`end == None`: to the last), at most `limit`, if the tail holds
    /// all of them that exist; `None` when the range starts before the tail.
    pub(super) fn get(&self, start: u64, end: Option<u64>, limit: usize) -> Option<Vec<Entry>> {
        let first = self.first()?;
        if start < first {
            return None;
        }
        let skip = usize::try_from(start - first).ok()?;
        let mut count = self.entries.len().saturating_sub(skip).min(limit);
        if let Some(end) = end {
            count = count.min(usize::try_from(end.saturating_sub(start)).unwrap_or(usize::MAX));
        }
        Some(
            self.entries
                .iter()
                .skip(skip)
                .take(count)
                .map(|(e, _)| e.clone())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{blanks, log_id};
    use super::*;

    fn tail_of(entries: Vec<Entry>) -> Tail {
        let mut tail = Tail::default();
        tail.append(entries.into_iter().map(|e| (e, 10)).collect(), u64::MAX);
        tail
    }

    fn indices(entries: &[Entry]) -> Vec<u64> {
        entries.iter().map(|e| e.log_id.index).collect()
    }

    #[test]
    fn serves_ranges_it_holds_and_refuses_older_ones() {
        let tail = tail_of(blanks(1, 5, 14));
        assert_eq!(
            indices(&tail.get(5, None, 100).expect("held")),
            (5..15).collect::<Vec<_>>()
        );
        assert_eq!(
            indices(&tail.get(7, Some(9), 100).expect("held")),
            vec![7, 8]
        );
        assert_eq!(indices(&tail.get(7, None, 2).expect("held")), vec![7, 8]);
        assert!(tail.get(15, None, 100).expect("past the end").is_empty());
        assert!(tail.get(4, None, 100).is_none(), "4 is older than the tail");
    }

    #[test]
    fn mirrors_truncate_purge_and_overwrite() {
        let mut tail = tail_of(blanks(1, 0, 9));
        tail.truncate_after(Some(6));
        assert_eq!(
            indices(&tail.get(0, None, 100).expect("held")),
            (0..7).collect::<Vec<_>>()
        );
        tail.purge_upto(2);
        assert!(tail.get(2, None, 100).is_none());
        tail.append(
            blanks(2, 5, 7).into_iter().map(|e| (e, 10)).collect(),
            u64::MAX,
        );
        let held = tail.get(3, None, 100).expect("held");
        assert_eq!(indices(&held), vec![3, 4, 5, 6, 7]);
        assert_eq!(held[2].log_id, log_id(2, 5), "entry 5 was overwritten");
        // A gap starts the tail over.
        tail.append(
            blanks(2, 20, 20).into_iter().map(|e| (e, 10)).collect(),
            u64::MAX,
        );
        assert!(tail.get(7, None, 100).is_none());
        assert_eq!(indices(&tail.get(20, None, 100).expect("held")), vec![20]);
    }

    #[test]
    fn stays_within_its_bounds_but_keeps_what_the_file_lacks() {
        let chunk = |c: u64| -> Vec<(Entry, usize)> {
            blanks(1, c * 1000, c * 1000 + 999)
                .into_iter()
                .map(|e| (e, 10))
                .collect()
        };
        let mut tail = Tail::default();
        for c in 0..20u64 {
            tail.append(chunk(c), u64::MAX);
        }
        assert_eq!(tail.entries.len(), MAX_ENTRIES);
        assert_eq!(tail.next(), Some(20_000));

        // Nothing committed to the file yet: nothing may be dropped.
        let mut tail = Tail::default();
        for c in 0..20u64 {
            tail.append(chunk(c), 0);
        }
        assert_eq!(tail.first(), Some(0));
        // The writer at 5,000: only entries below it may go, so the tail stays over its bound.
        tail.append(
            blanks(1, 20_000, 20_000)
                .into_iter()
                .map(|e| (e, 10))
                .collect(),
            5_000,
        );
        assert_eq!(tail.first(), Some(5_000));
        // The writer at 15,000: entries below it go, down to the bound.
        tail.append(
            blanks(1, 20_001, 20_001)
                .into_iter()
                .map(|e| (e, 10))
                .collect(),
            15_000,
        );
        assert_eq!(tail.first(), Some(20_002 - MAX_ENTRIES as u64));
    }
}
