//! Integration tests of skiff-agent: pod workers on the real runtime, one binary.

mod support;

mod failures;
mod probes;
mod worker;
