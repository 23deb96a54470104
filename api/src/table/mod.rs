//! Table output (meta.k8s.io/v1 Table) with kubectl's columns per resource (being written).
