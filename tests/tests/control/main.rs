//! End-to-end tests of the scheduler and the controllers' machinery (leader election) against a
//! real `skiff server`, through kube-rs as they run in production. Nodes are registered through
//! the API (no agents), as kube-scheduler's own performance tests do.

mod accounts_cidrs;
mod agent_sim;
mod component_rbac;
mod cronjob;
mod daemonset;
mod deployment;
mod election;
mod gc;
mod in_server;
mod job;
mod scheduler;
mod services_nodes;
mod support;
