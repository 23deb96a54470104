//! The built-in OCI registry end to end: real `skiff` processes, `skiff push`, the ORAS Python
//! client (a registry client no one here wrote) pushing and pulling, pods whose images come
//! from `registry.skiff.local`, a replica killed after a push, garbage collection on three
//! replicas, and Debian's `docker-registry` (the CNCF distribution server) reached through
//! `imagePullSecrets`. Each test is bounded.

mod collect;
mod default_roles;
mod protocol;
mod pull_secrets;
mod ranges;
mod replicas;
mod run_pushed;
mod support;
