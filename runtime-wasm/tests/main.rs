//! Integration tests of skiff-runtime-wasm: one binary, one module per area.

mod support;

mod bad_modules;
mod cache;
mod examples_run;
mod http;
mod isolation;
mod limits;
mod logs;
mod network;
mod oci;
mod socket_fds;
mod usage;
mod volume_fds;
