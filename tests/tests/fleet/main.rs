//! Fleet tests: control-plane replicas and node agents as separate `skiff` processes,
//! driven through the real kubectl (issues 14 and 15).
//! - `client`: the agent's API client skips a replica it cannot reach.
//! - `two_agents`: one server, two agents; pods run on the node they name, and a node's
//!   credential reaches only its own pods, never another node's or the admin's objects.
//! - `replica_failover`: three replicas, one agent; the replica the agent talks to is killed,
//!   the agent moves to another, its Lease is renewed and its pods keep running.
//! - `node_loss`: one server, three agents; a Deployment spreads over the nodes, a pod that
//!   fits nowhere is told why, and a killed agent's pods are replaced on the others.
//! - `monitoring`: a real Prometheus scrapes one server and two agents with
//!   deploy/prometheus.yml (issue 19), JSON logs, `logs -l` (`logs_selector`) over three
//!   pods, Events on both APIs and their TTL (`events`); `prometheus` runs Prometheus.

mod client;
mod events;
mod logs_selector;
mod monitoring;
mod node_loss;
mod prometheus;
mod replica_failover;
mod support;
mod two_agents;
