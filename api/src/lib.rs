//! Kubernetes object types (re-exported from k8s-openapi) and skiff's conventions: the served
//! resources, validation, defaulting, patch semantics, selectors and the presentation of objects
//! (discovery, OpenAPI, tables). Pure functions, no I/O.
//!
//! # Layout
//! - `resources`: the table of served resources (discovery, routing and storage keys).
//! - `status`: Kubernetes `Status` errors.
//! - `protobuf`: Kubernetes' protobuf encoding, to and from the stored JSON objects.
//! - `patch`: merge, JSON, strategic merge patch and server-side apply.
//! - `selector`: label and field selectors.
//! - `eviction`: the PodDisruptionBudget checks of `pods/eviction`.
//! - `validate`: validation and defaulting per kind.
//! - `discovery`, `openapi`, `table`: what kubectl reads besides objects.
//! - `rbac`: RBAC evaluation, escalation checks, aggregation and the default roles.
//! - `metrics`: the agents' usage summaries and `metrics.k8s.io` PodMetrics/NodeMetrics.

pub use k8s_openapi;

pub mod discovery;
pub mod duration;
pub mod event_rate;
pub mod events;
pub mod eviction;
pub mod metrics;
pub mod node_match;
pub mod openapi;
pub mod patch;
pub mod protobuf;
pub mod rbac;
pub mod resources;
pub mod selector;
pub mod status;
pub mod table;
pub mod validate;
