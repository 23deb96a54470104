//! ClusterRole aggregation (Kubernetes' `clusterroleaggregation` controller): a ClusterRole with
//! `aggregationRule.clusterRoleSelectors` holds the rules of every other ClusterRole whose
//! labels match a selector, in selector order, then name order, each rule once.

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};

use crate::selector::LabelSelector;

/// The rules `role` should hold, or `None` if it does not aggregate. A selector that does not
/// parse selects nothing (validation refuses such roles).
pub fn aggregated_rules(
    role: &ClusterRole,
    all: &BTreeMap<String, ClusterRole>,
) -> Option<Vec<PolicyRule>> {
    let selectors = role
        .aggregation_rule
        .as_ref()?
        .cluster_role_selectors
        .as_ref();
    let mut rules: Vec<PolicyRule> = Vec::new();
    for selector in selectors.into_iter().flatten() {
        let Ok(selector) = LabelSelector::from_k8s(selector) else {
            continue;
        };
        // BTreeMap iteration is name order.
        for (name, other) in all {
            if Some(name) == role.metadata.name.as_ref() {
                continue;
            }
            let labels = other.metadata.labels.clone().unwrap_or_default();
            if !selector.matches(&labels) {
                continue;
            }
            for rule in other.rules.iter().flatten() {
                if !rules.contains(rule) {
                    rules.push(rule.clone());
                }
            }
        }
    }
    Some(rules)
}
