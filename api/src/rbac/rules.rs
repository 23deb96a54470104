//! Whether one `PolicyRule` allows one request: Kubernetes' `RuleAllows` and the matchers of
//! `pkg/apis/rbac/v1/evaluation_helpers.go` (verbs, API groups, `resource/subresource`, `*`,
//! resource names, non-resource URLs with a trailing `*`).

use k8s_openapi::api::rbac::v1::PolicyRule;

use super::{Attributes, Target};

/// `*`: every verb, group, resource or URL.
pub const ALL: &str = "*";

/// The strings of an optional list (`None` is empty).
pub(crate) fn strings(list: &Option<Vec<String>>) -> &[String] {
    list.as_deref().unwrap_or_default()
}

fn has(list: &[String], wanted: &str) -> bool {
    list.iter().any(|s| s == wanted)
}

pub(crate) fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == ALL || v == verb)
}

pub(crate) fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    strings(&rule.api_groups)
        .iter()
        .any(|g| g == ALL || g == group)
}

/// `combined` is `resource` or `resource/subresource`; a rule's `*/subresource` matches that
/// subresource of every resource.
pub(crate) fn resource_matches(rule: &PolicyRule, combined: &str, subresource: &str) -> bool {
    strings(&rule.resources).iter().any(|r| {
        if r == ALL || r == combined {
            return true;
        }
        !subresource.is_empty()
            && r.len() == subresource.len() + 2
            && r.starts_with("*/")
            && r.ends_with(subresource)
    })
}

/// A rule without `resourceNames` matches every name (and requests without one).
pub(crate) fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    let names = strings(&rule.resource_names);
    names.is_empty() || has(names, name)
}

/// `/healthz` matches `/healthz`; `/api/*` matches every path starting with `/api/`.
pub(crate) fn non_resource_url_matches(rule: &PolicyRule, path: &str) -> bool {
    strings(&rule.non_resource_urls).iter().any(|url| {
        url == ALL
            || url == path
            || (url.ends_with('*') && path.starts_with(url.trim_end_matches('*')))
    })
}

/// Kubernetes' `RuleAllows`.
pub fn rule_allows(attributes: &Attributes, rule: &PolicyRule) -> bool {
    if !verb_matches(rule, &attributes.verb) {
        return false;
    }
    match &attributes.target {
        Target::Resource(r) => {
            let combined = if r.subresource.is_empty() {
                r.resource.clone()
            } else {
                format!("{}/{}", r.resource, r.subresource)
            };
            api_group_matches(rule, &r.api_group)
                && resource_matches(rule, &combined, &r.subresource)
                && resource_name_matches(rule, &r.name)
        }
        Target::NonResource { path } => non_resource_url_matches(rule, path),
    }
}
