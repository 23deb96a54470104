//! End-to-end tests of skiff's Kubernetes API with real clients: the real kubectl, the official
//! Python client and kube-rs, plus raw HTTPS requests for authentication and bad input. Each
//! test starts its own `skiff server` processes (see `skiff_tests`) and is bounded in time.
//!
//! One test binary with a module per concern keeps link time down; tests run one at a time.

mod auth_matrix;
mod bad_input;
mod evictions;
mod follower_patches;
mod kube_failover;
mod kubectl_apply;
mod kubectl_create;
mod kubectl_daemonsets;
mod kubectl_daily;
mod kubectl_drain;
mod kubectl_errors;
mod kubectl_exec;
mod kubectl_explain;
mod kubectl_follower;
mod kubectl_get;
mod kubectl_listing;
mod kubectl_verbs;
mod list_pages;
mod manifests;
mod node_join;
mod old_kubectl;
mod partial_metadata;
mod partial_metadata_kube;
mod protobuf;
mod protobuf_objects;
mod python_client;
mod rbac;
mod rbac_defaults;
mod rbac_escalation;
mod rbac_kubectl;
mod rbac_support;
mod rbac_tokens;
mod service_ports;
mod tokens;
mod write_semantics;
