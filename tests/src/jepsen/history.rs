//! The [`History`] of a test: every operation's invocation and completion, recorded by the client
//! tasks that share it, with monotonic timestamps.
//!
//! Jepsen's process rule: a client whose operation was indeterminate ([`Outcome::Info`]) takes a
//! new process id for its next operation, since the old one may still be in flight; a process
//! therefore never has two operations open at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::jepsen::model::Op;

/// Nanoseconds since the history started.
pub type Nanos = u64;

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It took effect: a read's value (`None`: the key did not exist), or a write's or CAS's
    /// revision.
    Ok(Returned),
    /// It certainly did not take effect (CAS conflict, nothing written, never sent). The text
    /// is for people only.
    Fail(String),
    /// It may or may not have taken effect, now or at any later time (timeout, lost answer).
    Info(String),
}

/// What a successful operation returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Returned {
    Read(Option<String>),
    Written { revision: u64 },
}

/// One operation: what was asked, when, and (once it completed) how it ended.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Its index in the history.
    pub id: usize,
    pub process: u64,
    pub key: String,
    pub op: Op,
    pub call: Nanos,
    /// `None` while in flight (and forever, if the test ended before it completed).
    pub ret: Option<Nanos>,
    pub outcome: Option<Outcome>,
}

impl Entry {
    /// Whether it certainly took effect.
    pub fn is_ok(&self) -> bool {
        matches!(self.outcome, Some(Outcome::Ok(_)))
    }

    /// Whether it certainly did not take effect.
    pub fn is_fail(&self) -> bool {
        matches!(self.outcome, Some(Outcome::Fail(_)))
    }

    /// The value a read returned, if it is a successful read.
    pub fn read_value(&self) -> Option<Option<&str>> {
        match &self.outcome {
            Some(Outcome::Ok(Returned::Read(v))) => Some(v.as_deref()),
            _ => None,
        }
    }
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = |t: Nanos| t as f64 / 1e9;
        write!(f, "#{} p{} {} {}", self.id, self.process, self.key, self.op)?;
        match &self.outcome {
            Some(Outcome::Ok(Returned::Read(Some(v)))) => write!(f, " -> {v}")?,
            Some(Outcome::Ok(Returned::Read(None))) => write!(f, " -> (absent)")?,
            Some(Outcome::Ok(Returned::Written { revision })) => write!(f, " ok @{revision}")?,
            Some(Outcome::Fail(why)) => write!(f, " FAIL ({why})")?,
            Some(Outcome::Info(why)) => write!(f, " INFO ({why})")?,
            None => write!(f, " (never completed)")?,
        }
        match self.ret {
            Some(ret) => write!(f, " [{:.6}s..{:.6}s]", secs(self.call), secs(ret)),
            None => write!(f, " [{:.6}s..]", secs(self.call)),
        }
    }
}

/// The shared recorder.
pub struct History {
    start: Instant,
    entries: Mutex<Vec<Entry>>,
    next_process: AtomicU64,
}

impl Default for History {
    fn default() -> Self {
        History::new()
    }
}

impl History {
    pub fn new() -> History {
        History {
            start: Instant::now(),
            entries: Mutex::new(Vec::new()),
            next_process: AtomicU64::new(0),
        }
    }

    /// A process id never handed out before.
    pub fn new_process(&self) -> u64 {
        self.next_process.fetch_add(1, Ordering::Relaxed)
    }

    fn now(&self) -> Nanos {
        self.start.elapsed().as_nanos() as Nanos
    }

    /// Records the invocation of `op` on `key` by `process`; returns its id for
    /// [`History::complete`].
    pub fn invoke(&self, process: u64, key: &str, op: Op) -> usize {
        let mut entries = skiff_sync::lock(&self.entries);
        let id = entries.len();
        let call = self.now();
        entries.push(Entry {
            id,
            process,
            key: key.to_owned(),
            op,
            call,
            ret: None,
            outcome: None,
        });
        id
    }

    /// Records how operation `id` ended.
    pub fn complete(&self, id: usize, outcome: Outcome) {
        let ret = self.now();
        let mut entries = skiff_sync::lock(&self.entries);
        let entry = &mut entries[id];
        entry.ret = Some(ret);
        entry.outcome = Some(outcome);
    }

    /// Records an operation that happened before the test's clients started (e.g. a key's
    /// initial value), as invoked and completed now.
    pub fn record(&self, process: u64, key: &str, op: Op, outcome: Outcome) -> usize {
        let id = self.invoke(process, key, op);
        self.complete(id, outcome);
        id
    }

    /// A copy of every entry so far, in invocation order.
    pub fn entries(&self) -> Vec<Entry> {
        skiff_sync::lock(&self.entries).clone()
    }
}

/// A client's identity in the history: its process id, renewed after an indeterminate outcome.
pub struct Process {
    history: Arc<History>,
    pub id: u64,
}

impl Process {
    pub fn new(history: Arc<History>) -> Process {
        let id = history.new_process();
        Process { history, id }
    }

    /// Runs one operation: records the invocation, awaits `run`, records its outcome, and takes
    /// a new process id if the outcome was indeterminate. Returns the outcome.
    pub async fn run(
        &mut self,
        key: &str,
        op: Op,
        run: impl std::future::Future<Output = Outcome>,
    ) -> Outcome {
        let id = self.history.invoke(self.id, key, op);
        let outcome = run.await;
        self.history.complete(id, outcome.clone());
        if matches!(outcome, Outcome::Info(_)) {
            self.id = self.history.new_process();
        }
        outcome
    }
}
