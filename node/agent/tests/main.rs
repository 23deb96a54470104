//! Integration tests of skiff-agent: pod workers on the real runtime, one binary.

mod support;

mod events;
mod failures;
mod probes;
mod volumes;
mod worker;
