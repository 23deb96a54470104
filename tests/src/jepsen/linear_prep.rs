//! Turns one key's history entries into what the linearizability search orders: steps of the
//! register model with call and return times, dropping the ops that cannot matter; and finds
//! the ops a person needs to see around one that could not be linearized.

use std::collections::HashSet;

use crate::jepsen::history::{Entry, Nanos, Outcome, Returned};
use crate::jepsen::model::{Op, Step, Values};

/// An op to order.
pub struct PrepOp<'e> {
    pub entry: &'e Entry,
    pub call: Nanos,
    /// `Nanos::MAX` for an indeterminate op: it may take effect at any time after its call.
    pub ret: Nanos,
    pub step: Step,
    /// Whether it certainly took effect (the search must place it); an indeterminate op may
    /// also never take effect.
    pub required: bool,
}

pub struct Prepared<'e> {
    pub ops: Vec<PrepOp<'e>>,
    pub values: Values,
    /// Every op of the key (also the dropped ones), for explanations.
    all: Vec<&'e Entry>,
}

/// The ops of one key the search must order.
pub fn prepare<'e>(entries: &[&'e Entry]) -> Prepared<'e> {
    let observed = observed_values(entries);
    let mut values = Values::default();
    let mut ops = Vec::new();
    for &entry in entries {
        let determinate = match &entry.outcome {
            Some(Outcome::Ok(_)) => true,
            Some(Outcome::Info(_)) | None => false,
            Some(Outcome::Fail(_)) => continue,
        };
        let step = match (&entry.op, entry.read_value()) {
            (Op::Read, Some(seen)) => Step::Read(seen.map(|v| values.intern(v))),
            (Op::Read, None) => continue,
            (op, _) if !determinate && !op.written().is_some_and(|v| observed.contains(v)) => {
                continue;
            }
            (Op::Write { value }, _) => Step::Write(values.intern(value)),
            (Op::Cas { expected, value }, _) => Step::Cas {
                expected: values.intern(expected),
                value: values.intern(value),
            },
        };
        ops.push(PrepOp {
            entry,
            call: entry.call,
            ret: if determinate {
                entry.ret.unwrap_or(Nanos::MAX)
            } else {
                Nanos::MAX
            },
            step,
            required: determinate,
        });
    }
    Prepared {
        ops,
        values,
        all: entries.to_vec(),
    }
}

/// Values some op depends on: read by a successful read, or expected by a CAS that is kept
/// (successful, or indeterminate with an observed value of its own), to a fixpoint.
fn observed_values<'e>(entries: &[&'e Entry]) -> HashSet<&'e str> {
    let mut observed: HashSet<&str> = entries
        .iter()
        .filter_map(|e| e.read_value().flatten())
        .collect();
    loop {
        let before = observed.len();
        for e in entries {
            if let Op::Cas { expected, value } = &e.op {
                let kept = match e.outcome {
                    Some(Outcome::Ok(_)) => true,
                    Some(Outcome::Info(_)) | None => observed.contains(value.as_str()),
                    Some(Outcome::Fail(_)) => false,
                };
                if kept {
                    observed.insert(expected);
                }
            }
        }
        if observed.len() == before {
            return observed;
        }
    }
}

impl<'e> Prepared<'e> {
    /// The op that wrote the value `entry` read or expected.
    pub fn writer_of_seen(&self, entry: &Entry) -> Option<&'e Entry> {
        let seen = match (&entry.op, &entry.outcome) {
            (Op::Read, Some(Outcome::Ok(Returned::Read(Some(v))))) => v.as_str(),
            (Op::Cas { expected, .. }, _) => expected.as_str(),
            _ => return None,
        };
        self.all
            .iter()
            .copied()
            .find(|e| e.op.written() == Some(seen))
    }

    /// The ops overlapping `stuck` in time, and the last writes that completed before it was
    /// invoked (at most `LIMIT` in all), by call time.
    pub fn around(&self, stuck: &Entry) -> Vec<Entry> {
        const LIMIT: usize = 12;
        let end = stuck.ret.unwrap_or(Nanos::MAX);
        let overlapping = self.all.iter().filter(|e| {
            e.id != stuck.id && e.call <= end && e.ret.unwrap_or(Nanos::MAX) >= stuck.call
        });
        let mut before: Vec<&Entry> = self
            .all
            .iter()
            .copied()
            .filter(|e| e.ret.is_some_and(|r| r < stuck.call) && e.op.written().is_some())
            .filter(|e| !e.is_fail())
            .collect();
        before.sort_by_key(|e| e.ret);
        let recent = before.iter().rev().take(4).copied();
        let mut picked: Vec<&Entry> = recent.chain(overlapping.copied()).collect();
        picked.sort_by_key(|e| (e.call.abs_diff(stuck.call), e.id));
        picked.dedup_by_key(|e| e.id);
        picked.truncate(LIMIT);
        picked.sort_by_key(|e| (e.call, e.id));
        picked.into_iter().cloned().collect()
    }
}
