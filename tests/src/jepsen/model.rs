//! The model the checker holds each key to: a register whose values are unique strings (every
//! write writes a value never written before), with read, write and compare-and-set.
//!
//! A CAS through the API is an `update` guarded by the `mod_revision` the client last read.
//! Because every value is written exactly once, "the key's mod_revision is r" holds exactly
//! when "the key holds the value that was read with r", so a CAS is recorded with the expected
//! *value* and the model compares values.

use std::fmt;

/// An operation on one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// A linearizable read; its result is in the outcome.
    Read,
    /// An unconditional write of `value`.
    Write { value: String },
    /// Writes `value` if the key holds `expected`, else fails and changes nothing.
    Cas { expected: String, value: String },
}

impl Op {
    /// The value this op writes, if it writes.
    pub fn written(&self) -> Option<&str> {
        match self {
            Op::Read => None,
            Op::Write { value } | Op::Cas { value, .. } => Some(value),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Read => write!(f, "read"),
            Op::Write { value } => write!(f, "write {value}"),
            Op::Cas { expected, value } => write!(f, "cas {expected} -> {value}"),
        }
    }
}

/// A register's state: the index of its value in the checker's value table (`None`: absent).
pub type State = Option<u32>;

/// An op as the search sees it: values replaced by their indices, and what it must observe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// A successful read that returned this state.
    Read(State),
    /// A write (successful, or indeterminate and possibly applied) of this value.
    Write(u32),
    /// A CAS (successful, or indeterminate and possibly applied) from one value to another.
    Cas { expected: u32, value: u32 },
}

impl Step {
    /// The state after applying this step to `state`, or `None` if the step cannot happen in
    /// `state` (a read that would return something else, a CAS whose comparison fails).
    pub fn apply(self, state: State) -> Option<State> {
        match self {
            Step::Read(seen) => (seen == state).then_some(state),
            Step::Write(value) => Some(Some(value)),
            Step::Cas { expected, value } => (state == Some(expected)).then_some(Some(value)),
        }
    }
}

/// Interns values as small integers so that states are cheap to copy, hash and compare.
#[derive(Default)]
pub struct Values {
    names: Vec<String>,
    index: std::collections::HashMap<String, u32>,
}

impl Values {
    pub fn intern(&mut self, value: &str) -> u32 {
        if let Some(&i) = self.index.get(value) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(value.to_owned());
        self.index.insert(value.to_owned(), i);
        i
    }

    /// A state as people read it.
    pub fn show(&self, state: State) -> String {
        match state {
            Some(i) => self.names[i as usize].clone(),
            None => "(absent)".into(),
        }
    }
}
