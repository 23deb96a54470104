//! Each replica's change log (a watch from revision 0), compared entry by entry across replicas
//! and against the history: acknowledged writes at their revisions with their values, no trace
//! of a write that definitely failed, and no value under the test prefix that nobody wrote.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use anyhow::{Context, ensure};

use crate::client::KvClient;
use crate::jepsen::history::{Entry, Outcome, Returned};
use crate::kv::Next;

/// One change: a PUT (with the value written) or a DELETE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub revision: u64,
    pub key: String,
    pub kind: String,
    pub value: Option<String>,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = self.value.as_deref().unwrap_or("-");
        write!(f, "@{} {} {} {value}", self.revision, self.kind, self.key)
    }
}

/// What the change logs show that they must not.
#[derive(Debug)]
pub enum LogError {
    /// Two replicas differ at `revision` (`None`: that replica has no entry there).
    Diverged {
        revision: u64,
        replicas: (usize, usize),
        changes: (Option<Change>, Option<Change>),
    },
    /// An acknowledged write is not in the log at its revision with its key and value.
    LostWrite { op: Entry, found: Option<Change> },
    /// A write that definitely failed is in the log.
    FailedWriteApplied { op: Entry, change: Change },
    /// A value under the test prefix that no op wrote.
    UnknownValue { change: Change },
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |c: &Option<Change>| c.as_ref().map_or("nothing".into(), ToString::to_string);
        match self {
            LogError::Diverged {
                revision,
                replicas: (a, b),
                changes: (ca, cb),
            } => write!(
                f,
                "change logs diverged at revision {revision}: replica {a} has {}, replica {b} has {}",
                show(ca),
                show(cb)
            ),
            LogError::LostWrite { op, found } => write!(
                f,
                "change log: acknowledged write lost: {op}; the log has {} at that revision",
                show(found)
            ),
            LogError::FailedWriteApplied { op, change } => write!(
                f,
                "change log: a write that definitely failed was applied: {op} is in the log as {change}"
            ),
            LogError::UnknownValue { change } => {
                write!(f, "change log: {change} holds a value no op wrote")
            }
        }
    }
}

impl std::error::Error for LogError {}

/// Every change on `prefix` the replica behind `client` holds, up to its current revision (a
/// serializable read of the replica itself); the history must not have been compacted.
pub async fn fetch(client: &KvClient, prefix: &str) -> anyhow::Result<Vec<Change>> {
    let current = client.range(prefix, true, true, None).await?.revision;
    let mut stream = client.watch(prefix, 0).await?;
    let mut log: Vec<Change> = Vec::new();
    let mut last = 0;
    while last < current {
        // A quiet stream means the last revisions were outside `prefix`.
        let line = match stream.next(Duration::from_secs(2)).await? {
            Next::Line(line) => line,
            Next::Quiet => break,
            Next::End => anyhow::bail!("watch of {} ended at revision {last}", client.base),
        };
        ensure!(line.error.is_none(), "watch of {}: {line:?}", client.base);
        let revision = line.revision.context("event without revision")?;
        // One transaction may change several keys at one revision (a Service and its
        // ClusterIP's allocation key), so revisions repeat; they never go back.
        ensure!(revision >= last, "watch went back: {revision} after {last}");
        let kv = line.kv.context("event without kv")?;
        let kind = line.kind.context("event without type")?;
        let value = (kind == "PUT").then_some(kv.value);
        log.push(Change {
            revision,
            key: kv.key,
            kind,
            value,
        });
        last = revision;
    }
    Ok(log)
}

/// The first revision at which two logs differ, over the revisions both reach.
pub fn compare(logs: &[Vec<Change>]) -> Result<(), Box<LogError>> {
    let Some(first) = logs.first() else {
        return Ok(());
    };
    for (b, other) in logs.iter().enumerate().skip(1) {
        let reach = |log: &Vec<Change>| log.last().map_or(0, |c| c.revision);
        let common = reach(first).min(reach(other));
        let upto = |log: &Vec<Change>| -> HashMap<(u64, String), Change> {
            log.iter()
                .filter(|c| c.revision <= common)
                .map(|c| ((c.revision, c.key.clone()), c.clone()))
                .collect()
        };
        let (ma, mb) = (upto(first), upto(other));
        let mut changes: Vec<&(u64, String)> = ma.keys().chain(mb.keys()).collect();
        changes.sort_unstable();
        for at in changes {
            let revision = at.0;
            let (ca, cb) = (ma.get(at), mb.get(at));
            if ca != cb {
                return Err(Box::new(LogError::Diverged {
                    revision,
                    replicas: (0, b),
                    changes: (ca.cloned(), cb.cloned()),
                }));
            }
        }
    }
    Ok(())
}

/// Checks one (agreed) log against the history of the ops on keys under `prefix`.
pub fn check_history(log: &[Change], entries: &[Entry], prefix: &str) -> Result<(), Box<LogError>> {
    let by_revision: HashMap<u64, &Change> = log.iter().map(|c| (c.revision, c)).collect();
    let in_log: HashMap<(&str, &str), &Change> = log
        .iter()
        .filter_map(|c| Some(((c.key.as_str(), c.value.as_deref()?), c)))
        .collect();
    let mut written = HashSet::new();
    for op in entries {
        let Some(value) = op.op.written() else {
            continue;
        };
        written.insert((op.key.as_str(), value));
        match &op.outcome {
            Some(Outcome::Ok(Returned::Written { revision })) => {
                let found = by_revision.get(revision).copied();
                if found.is_none_or(|c| c.key != op.key || c.value.as_deref() != Some(value)) {
                    let found = found.cloned();
                    return Err(Box::new(LogError::LostWrite {
                        op: op.clone(),
                        found,
                    }));
                }
            }
            Some(Outcome::Fail(_)) => {
                if let Some(change) = in_log.get(&(op.key.as_str(), value)) {
                    let change = (*change).clone();
                    let op = op.clone();
                    return Err(Box::new(LogError::FailedWriteApplied { op, change }));
                }
            }
            _ => {}
        }
    }
    for change in log.iter().filter(|c| c.key.starts_with(prefix)) {
        if let Some(value) = &change.value
            && !written.contains(&(change.key.as_str(), value.as_str()))
        {
            return Err(Box::new(LogError::UnknownValue {
                change: change.clone(),
            }));
        }
    }
    Ok(())
}
