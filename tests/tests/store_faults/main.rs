//! Multi-process fault tests of the replicated store: each test starts real `skiff server`
//! processes (see `skiff_tests`), injects a fault, and checks what clients observe.
//!
//! One test binary with a module per fault keeps link time down. Tests run one at a time (the
//! harness serialises them) and each is bounded in time.

mod bad_start;
mod cas;
mod compaction;
mod isolated_leader;
mod leader_kill;
mod partition;
mod quick_heal;
mod snapshot_catch_up;
