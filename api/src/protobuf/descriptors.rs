//! The descriptor pool of the vendored Kubernetes `.proto` files, and the message of an
//! apiVersion/kind: Kubernetes' proto packages are `k8s.io.api.<group>.<version>`, named by
//! the group's first label (`rbac.authorization.k8s.io` -> `rbac`), and the kinds every group
//! version shares (Status, DeleteOptions, WatchEvent) live in apimachinery's `meta.v1`.

use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, MessageDescriptor};

/// The compiled descriptor set (see `build.rs`).
const DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kubernetes.bin"));

pub(super) const META_V1: &str = "k8s.io.apimachinery.pkg.apis.meta.v1";
pub(super) const RUNTIME: &str = "k8s.io.apimachinery.pkg.runtime";

/// The API groups with messages, and their proto package under `k8s.io.api`. Only these:
/// a custom group (`apps.example.com`) must not borrow a built-in group's messages.
const GROUP_PACKAGES: &[(&str, &str)] = &[
    ("", "core"),
    ("apps", "apps"),
    ("batch", "batch"),
    ("autoscaling", "autoscaling"),
    ("policy", "policy"),
    ("coordination.k8s.io", "coordination"),
    ("discovery.k8s.io", "discovery"),
    ("events.k8s.io", "events"),
    ("rbac.authorization.k8s.io", "rbac"),
    ("authentication.k8s.io", "authentication"),
    ("authorization.k8s.io", "authorization"),
    ("networking.k8s.io", "networking"),
];

/// Kinds of `meta.k8s.io/v1` that any group version sends and accepts.
const META_KINDS: &[&str] = &["Status", "DeleteOptions", "WatchEvent"];

pub(super) fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        // The bytes are this crate's own build output: a failure is a build defect that every
        // test of this module shows at once.
        DescriptorPool::decode(DESCRIPTORS).expect("build.rs wrote a valid descriptor set")
    })
}

/// A message of the pool by its full name.
pub(super) fn named(full_name: &str) -> Option<MessageDescriptor> {
    pool().get_message_by_name(full_name)
}

/// The message an object of `api_version` (`apps/v1`, `v1`) and `kind` is encoded as; None
/// for kinds without one (custom resources, Table, metrics), which stay JSON.
pub fn message_for(api_version: &str, kind: &str) -> Option<MessageDescriptor> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    if META_KINDS.contains(&kind) {
        return named(&format!("{META_V1}.{kind}"));
    }
    let package = GROUP_PACKAGES
        .iter()
        .find(|(g, _)| *g == group)
        .map(|(_, p)| *p)?;
    named(&format!("k8s.io.api.{package}.{version}.{kind}"))
}

/// Objects of this apiVersion and kind can be sent as protobuf.
pub fn has_message(api_version: &str, kind: &str) -> bool {
    message_for(api_version, kind).is_some()
}
