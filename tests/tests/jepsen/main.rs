//! Jepsen-style tests: concurrent clients record a history of register ops while a nemesis
//! kills and pauses replicas of a three-replica cluster; afterwards each key's history must be
//! linearizable and every replica's change log must agree with the others and the history.
//!
//! One test binary with a module per API keeps link time down. `JEPSEN_SECONDS` sets how long
//! the faults run, `JEPSEN_SEED` replays a run's choices, `JEPSEN_AMBIGUOUS_503=1` treats every
//! 503 on a write as indeterminate (for binaries whose 503 does not say whether it wrote).

mod common;
mod kube;
mod kv;
