//! End-to-end tests of the node agent: one real `skiff server` and one `skiff agent` process,
//! driven through the real kubectl. Pods name their node in `spec.nodeName` (the scheduler
//! is not part of these tests). The node's credential is made by hand (a node-token Secret
//! and `credential.json`) until the server's join endpoint exists.

mod config;
mod lifecycle;
mod logs;
mod node;
mod pods;
mod support;
mod top;
mod up;
