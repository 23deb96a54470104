//! Node selection by labels and fields (`nodeSelector`, node affinity's `nodeSelectorTerms`,
//! preferred terms' weights; the matching itself is `skiff_api::node_match`) and required pod anti-affinity on the hostname topology.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod, PodAffinityTerm};
use skiff_api::node_match;
use skiff_api::selector::LabelSelector;

/// The only topology pod anti-affinity is checked on: one node is one domain.
pub const HOSTNAME: &str = "kubernetes.io/hostname";

/// The labels of an object without any.
static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

/// Whether `pod` has preferred node-affinity terms (else every node's preferred weight is 0).
pub fn has_preferred_terms(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.preferred_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .is_some_and(|terms| !terms.is_empty())
}

/// Whether `pod` has required anti-affinity terms on the hostname.
pub fn has_anti_affinity(pod: &Pod) -> bool {
    anti_affinity_terms(pod).next().is_some()
}

/// `nodeSelector` and required node affinity both hold for `node`.
pub fn node_matches(pod: &Pod, node: &Node) -> bool {
    pod.spec
        .as_ref()
        .is_none_or(|spec| node_match::spec_selects_node(spec, node))
}

/// The sum of the weights of the preferred node-affinity terms that `node` matches.
pub fn preferred_weight(pod: &Pod, node: &Node) -> i64 {
    pod.spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.preferred_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .into_iter()
        .flatten()
        .filter(|p| node_match::term_matches(&p.preference, node))
        .map(|p| i64::from(p.weight))
        .sum()
}

/// Required anti-affinity terms on the hostname topology, of `pod`.
fn anti_affinity_terms(pod: &Pod) -> impl Iterator<Item = &PodAffinityTerm> {
    pod.spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .and_then(|p| {
            p.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .into_iter()
        .flatten()
        .filter(|t| t.topology_key == HOSTNAME)
}

/// Whether `term`, written in `owner`'s spec, selects `other`: its namespaces (default: the
/// owner's) and its label selector (an absent selector selects nothing).
fn term_selects(term: &PodAffinityTerm, owner: &Pod, other: &Pod) -> bool {
    let namespace = other.metadata.namespace.as_deref().unwrap_or("default");
    let in_namespace = match term.namespaces.as_deref() {
        Some(list) if !list.is_empty() => list.iter().any(|n| n == namespace),
        _ => owner.metadata.namespace.as_deref().unwrap_or("default") == namespace,
    };
    let Some(selector) = &term.label_selector else {
        return false;
    };
    let Ok(selector) = LabelSelector::from_k8s(selector) else {
        return false;
    };
    in_namespace && selector.matches(other.metadata.labels.as_ref().unwrap_or(&NO_LABELS))
}

/// Whether placing `pod` beside `existing` breaks a required anti-affinity term of either.
pub fn anti_affinity_conflict<'a>(pod: &Pod, existing: impl IntoIterator<Item = &'a Pod>) -> bool {
    existing.into_iter().any(|other| {
        anti_affinity_terms(pod).any(|t| term_selects(t, pod, other))
            || anti_affinity_terms(other).any(|t| term_selects(t, other, pod))
    })
}
