//! The `skiff` binary's entry point (being written).
fn main() {}
