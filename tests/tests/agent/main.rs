//! End-to-end tests of the node agent: one real `skiff server` and one `skiff agent` process
//! (joined with the agent token), driven through the real kubectl. Pods name their node in
//! `spec.nodeName` (the scheduler is not part of these tests, except under `skiff up`). One
//! replica and agent per file's scenario; the tests of one binary run one at a time.

mod config;
mod images;
mod init;
mod lifecycle;
mod logs;
mod node;
mod pods;
mod port_forward;
mod port_forward_support;
mod probes;
mod resources;
mod restart_logs;
mod sa_token;
mod size_limit;
mod support;
mod top;
mod up;
mod volumes;
