//! Kubernetes object types and skiff's conventions (filled in by the API server issue).

pub use k8s_openapi;
