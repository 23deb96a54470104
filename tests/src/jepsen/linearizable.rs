//! The linearizability checker: the Wing & Gong search with Lowe's memoisation, as Knossos and
//! Porcupine do it, run per key (linearizability is compositional).
//!
//! A key's operations become call and return events in one doubly linked list sorted by time.
//! The search walks it from the front: an op whose call it meets may be linearized now if the
//! model allows (it is then lifted out of the list and the walk restarts); meeting the return
//! of an op that is still in the list means the current order cannot be extended, so it
//! backtracks. A cache of (set of linearized ops, model state) prunes configurations already
//! explored; the set is kept as a 128-bit Zobrist hash (a collision, at odds of about 2^-100
//! for our sizes, could only hide a valid order, i.e. report a false violation).
//!
//! Indeterminate writes get a return time of +infinity: they may take effect any time after
//! their call, or never. Failed ops and reads without a value are dropped, and so are
//! indeterminate writes of a value that nothing observed (applying one can never help).

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use crate::jepsen::history::{Entry, Nanos};
use crate::jepsen::linear_prep::{Prepared, prepare};
use crate::jepsen::model::State;

/// How much work the search may do per key before giving up as inconclusive.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub max_steps: u64,
    pub max_cache: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_steps: 50_000_000,
            max_cache: 5_000_000,
        }
    }
}

/// Work done on one key.
#[derive(Clone, Debug, Default)]
pub struct KeyStats {
    pub key: String,
    /// Ops the search had to order (after dropping the irrelevant ones).
    pub ops: usize,
    pub steps: u64,
    pub cached: usize,
    pub elapsed: Duration,
}

/// Why a history is not known to be linearizable.
#[derive(Debug)]
pub enum CheckError {
    Violation(Box<Violation>),
    /// The budget ran out: the check failed to decide, which fails the test.
    Inconclusive {
        key: String,
        steps: u64,
        ops: usize,
    },
}

/// A key whose ops no order explains, with what a person needs to see why.
#[derive(Debug)]
pub struct Violation {
    pub key: String,
    /// The op that could not be linearized after the longest linearizable prefix.
    pub stuck: Entry,
    /// How many ops that prefix had, and the register's value after it.
    pub prefix_len: usize,
    pub state: String,
    /// The prefix's last op (`None`: the prefix is empty).
    pub last: Option<Entry>,
    /// For a read or CAS, the op that wrote the value it saw or expected.
    pub writer: Option<Entry>,
    /// Ops overlapping the stuck one, and the last few that completed before it was invoked.
    pub around: Vec<Entry>,
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckError::Inconclusive { key, steps, ops } => write!(
                f,
                "linearizability check INCONCLUSIVE on key {key}: the search budget ran out \
                 after {steps} steps over {ops} ops"
            ),
            CheckError::Violation(v) => {
                writeln!(f, "linearizability violation on key {}:", v.key)?;
                writeln!(f, "  this op cannot be linearized: {}", v.stuck)?;
                let last = v.last.as_ref().map(ToString::to_string);
                writeln!(
                    f,
                    "  the longest linearizable prefix ({} ops) leaves the key at {}, last op: {}",
                    v.prefix_len,
                    v.state,
                    last.as_deref().unwrap_or("none")
                )?;
                if let Some(w) = &v.writer {
                    writeln!(f, "  the value it saw or expected was written by: {w}")?;
                }
                writeln!(f, "  ops around it (by call time):")?;
                for e in &v.around {
                    writeln!(f, "    {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for CheckError {}

/// Checks every key of `entries`; returns the per-key stats, and the first key that failed.
pub fn check(entries: &[Entry], budget: Budget) -> (Vec<KeyStats>, Result<(), CheckError>) {
    let mut by_key: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        by_key.entry(&e.key).or_default().push(e);
    }
    let mut stats = Vec::new();
    for (key, ops) in by_key {
        let (s, result) = check_key(key, &ops, budget);
        stats.push(s);
        if let Err(e) = result {
            return (stats, Err(e));
        }
    }
    (stats, Ok(()))
}

/// Checks one key's ops.
pub fn check_key(key: &str, ops: &[&Entry], budget: Budget) -> (KeyStats, Result<(), CheckError>) {
    let started = Instant::now();
    let prepared = prepare(ops);
    let mut search = Search::new(&prepared);
    let result = search.run(budget);
    let stats = KeyStats {
        key: key.to_owned(),
        ops: prepared.ops.len(),
        steps: search.steps,
        cached: search.cache.len(),
        elapsed: started.elapsed(),
    };
    let result = match result {
        Outcome::Linearizable => Ok(()),
        Outcome::OutOfBudget => Err(CheckError::Inconclusive {
            key: key.to_owned(),
            steps: search.steps,
            ops: prepared.ops.len(),
        }),
        Outcome::Violation => Err(CheckError::Violation(Box::new(
            search.explain(key, &prepared),
        ))),
    };
    (stats, result)
}

enum Outcome {
    Linearizable,
    Violation,
    OutOfBudget,
}

const HEAD: usize = 0;

/// The search's state: the event list (dancing links), the stack of choices, the cache.
struct Search<'p> {
    prepared: &'p Prepared<'p>,
    next: Vec<usize>,
    prev: Vec<usize>,
    /// The op of each event node (nodes `1..=2n`), and whether it is the call.
    event: Vec<(usize, bool)>,
    /// The return node of each op.
    return_node: Vec<usize>,
    zobrist: Vec<u128>,
    cache: HashSet<(u128, State)>,
    steps: u64,
    /// The deepest dead end seen: (prefix length, state, stuck op, last op of the prefix).
    deepest: Option<(usize, State, usize, Option<usize>)>,
}

impl<'p> Search<'p> {
    fn new(prepared: &'p Prepared<'p>) -> Search<'p> {
        let n = prepared.ops.len();
        let mut events: Vec<(Nanos, bool, usize)> = Vec::with_capacity(2 * n);
        for (i, op) in prepared.ops.iter().enumerate() {
            events.push((op.call, true, i));
            events.push((op.ret, false, i));
        }
        // By time; at equal times calls first (the ops then count as concurrent).
        events.sort_by_key(|&(t, is_call, i)| (t, !is_call, i));
        let nodes = 2 * n + 2;
        let mut event = vec![(usize::MAX, false); nodes];
        let mut return_node = vec![0; n];
        for (k, &(_, is_call, i)) in events.iter().enumerate() {
            event[k + 1] = (i, is_call);
            if !is_call {
                return_node[i] = k + 1;
            }
        }
        let mut seed = 0x5eed_u64;
        let zobrist = (0..n)
            .map(|_| (u128::from(splitmix(&mut seed)) << 64) | u128::from(splitmix(&mut seed)))
            .collect();
        Search {
            prepared,
            next: (1..=nodes).collect(),
            prev: (0..nodes).map(|k| k.wrapping_sub(1)).collect(),
            event,
            return_node,
            zobrist,
            cache: HashSet::new(),
            steps: 0,
            deepest: None,
        }
    }

    fn unlink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = n;
        self.prev[n] = p;
    }

    fn relink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = node;
        self.prev[n] = node;
    }

    fn run(&mut self, budget: Budget) -> Outcome {
        let prepared = self.prepared;
        let ops = &prepared.ops;
        let mut remaining = ops.iter().filter(|o| o.required).count();
        let (mut state, mut hash): (State, u128) = (None, 0);
        let mut stack: Vec<(usize, State)> = Vec::new();
        self.cache.insert((hash, state));
        let mut node = self.next[HEAD];
        while remaining > 0 {
            self.steps += 1;
            if self.steps > budget.max_steps || self.cache.len() > budget.max_cache {
                return Outcome::OutOfBudget;
            }
            let (op, is_call) = self.event[node];
            if is_call {
                let applied = ops[op].step.apply(state);
                if let Some(after) = applied
                    && self.cache.insert((hash ^ self.zobrist[op], after))
                {
                    stack.push((node, state));
                    (state, hash) = (after, hash ^ self.zobrist[op]);
                    self.unlink(node);
                    self.unlink(self.return_node[op]);
                    remaining -= usize::from(ops[op].required);
                    node = self.next[HEAD];
                } else {
                    node = self.next[node];
                }
                continue;
            }
            // The return of an op not yet linearized: this order cannot go on.
            let depth = stack.len();
            if self.deepest.is_none_or(|(d, ..)| depth > d) {
                let last = stack.last().map(|&(n, _)| self.event[n].0);
                self.deepest = Some((depth, state, op, last));
            }
            let Some((call, before)) = stack.pop() else {
                return Outcome::Violation;
            };
            let undone = self.event[call].0;
            self.relink(self.return_node[undone]);
            self.relink(call);
            (state, hash) = (before, hash ^ self.zobrist[undone]);
            remaining += usize::from(ops[undone].required);
            node = self.next[call];
        }
        Outcome::Linearizable
    }

    fn explain(&self, key: &str, prepared: &Prepared) -> Violation {
        let (prefix_len, state, stuck, last) = self.deepest.unwrap_or((0, None, 0, None));
        let stuck = prepared.ops[stuck].entry;
        Violation {
            key: key.to_owned(),
            stuck: stuck.clone(),
            prefix_len,
            state: prepared.values.show(state),
            last: last.map(|i| prepared.ops[i].entry.clone()),
            writer: prepared.writer_of_seen(stuck).cloned(),
            around: prepared.around(stuck),
        }
    }
}

/// A small deterministic generator for the Zobrist keys.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
