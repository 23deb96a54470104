//! The new ReplicaSet's identity: the `pod-template-hash` of the Deployment's template (and
//! collision count), template equality ignoring that label, and the revision annotations.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::PodTemplateSpec;

/// The label that ties a ReplicaSet and its pods to one template of a Deployment.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// A ReplicaSet's revision in its Deployment's history.
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// The Deployment's `replicas` when the ReplicaSet was last scaled.
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// `replicas + maxSurge` when the ReplicaSet was last scaled (for proportional scaling).
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";

/// Deployment annotations not copied to its new ReplicaSet (`skipCopyAnnotation`).
const NOT_COPIED: [&str; 5] = [
    REVISION,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deployment.kubernetes.io/revision-history",
    "kubectl.kubernetes.io/last-applied-configuration",
];

/// FNV-32a of the template's canonical JSON and the collision count, encoded with
/// Kubernetes' `SafeEncodeString` alphabet (no vowels, no look-alike digits).
///
/// Kubernetes hashes a `spew` dump of the Go struct, which Rust cannot reproduce, so the
/// hash values differ from kube-controller-manager's; the form (`[b-z2-9]{1,10}`) is the same.
pub fn template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let json = serde_json::to_vec(template).unwrap_or_default();
    let mut h: u32 = 0x811c_9dc5;
    let mut feed = |b: u8| {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    };
    json.iter().copied().for_each(&mut feed);
    if let Some(c) = collision_count {
        // Kubernetes writes the uint32 little-endian into an 8-byte buffer.
        let mut buf = [0u8; 8];
        buf[..4].copy_from_slice(&c.to_le_bytes());
        buf.iter().copied().for_each(&mut feed);
    }
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    h.to_string()
        .bytes()
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect()
}

/// The template without the `pod-template-hash` label (an absent label map and an empty one
/// are the same).
pub fn without_hash(template: &PodTemplateSpec) -> PodTemplateSpec {
    let mut t = template.clone();
    let meta = t.metadata.get_or_insert_with(Default::default);
    let mut labels = meta.labels.take().unwrap_or_default();
    labels.remove(POD_TEMPLATE_HASH);
    meta.labels = (!labels.is_empty()).then_some(labels);
    t
}

/// `EqualIgnoreHash`: the templates are the same but for the hash label.
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    without_hash(a) == without_hash(b)
}

/// The template `kubectl rollout undo` puts back into the Deployment: the ReplicaSet's
/// template without its hash label. (In apps/v1 the rollback is done by kubectl, client side;
/// the controller only sees a template change.)
pub fn rollback_template(rs: &ReplicaSet) -> Option<PodTemplateSpec> {
    rs.spec.as_ref()?.template.as_ref().map(without_hash)
}

/// The ReplicaSet's revision (0 when absent or not a number).
pub fn revision(rs: &ReplicaSet) -> i64 {
    annotation(rs, REVISION)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// An annotation of a ReplicaSet.
pub fn annotation<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a str> {
    rs.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// The Deployment annotations a new ReplicaSet carries.
pub fn copied_annotations(d: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    d.iter()
        .filter(|(k, _)| !NOT_COPIED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
