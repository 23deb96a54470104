//! What a review's `spec` asks about: the attributes of a SubjectAccessReview (resource or
//! non-resource), the user it names, and a SelfSubjectRulesReview's `status`.

use serde_json::{Value, json};
use skiff_api::rbac::{Attributes, ResourceAttributes, Target, UserInfo};
use skiff_api::status::{ApiError, FieldError};

use super::AUTHORIZATION;

fn invalid(kind: &str, group: &str, field: &str, message: &str) -> ApiError {
    ApiError::invalid(kind, group, "", vec![FieldError::invalid(field, message)])
}

/// The attributes a SubjectAccessReview's `spec` asks about, for `user`.
pub(crate) fn spec_attributes(
    spec: &Value,
    user: UserInfo,
    kind: &str,
) -> Result<Attributes, ApiError> {
    let text = |v: &Value, f: &str| v[f].as_str().unwrap_or_default().to_owned();
    let resource = spec.get("resourceAttributes").filter(|v| v.is_object());
    let non_resource = spec.get("nonResourceAttributes").filter(|v| v.is_object());
    let (verb, target) = match (resource, non_resource) {
        (Some(r), None) => (
            text(r, "verb"),
            Target::Resource(ResourceAttributes {
                namespace: text(r, "namespace"),
                api_group: text(r, "group"),
                resource: text(r, "resource"),
                subresource: text(r, "subresource"),
                name: text(r, "name"),
            }),
        ),
        (None, Some(n)) => (
            text(n, "verb"),
            Target::NonResource {
                path: text(n, "path"),
            },
        ),
        _ => {
            return Err(invalid(
                kind,
                AUTHORIZATION,
                "spec.resourceAttributes",
                "exactly one of nonResourceAttributes or resourceAttributes must be specified",
            ));
        }
    };
    Ok(Attributes { user, verb, target })
}

/// The user a SubjectAccessReview names (`spec.user`, `spec.groups`).
pub(super) fn spec_user(spec: &Value) -> Result<UserInfo, ApiError> {
    let name = spec["user"].as_str().unwrap_or_default().to_owned();
    let groups: Vec<String> = spec["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_str().map(str::to_owned))
        .collect();
    if name.is_empty() && groups.is_empty() {
        return Err(invalid(
            "SubjectAccessReview",
            AUTHORIZATION,
            "spec.user",
            "at least one of user or group must be specified",
        ));
    }
    Ok(UserInfo { name, groups })
}

/// A SelfSubjectRulesReview's `status` for `rules`.
pub(super) fn rules_status(rules: &[skiff_api::rbac::PolicyRule]) -> Value {
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    for rule in rules {
        if rule
            .non_resource_urls
            .as_ref()
            .is_some_and(|u| !u.is_empty())
        {
            non_resource_rules.push(json!({"verbs": rule.verbs,
                "nonResourceURLs": rule.non_resource_urls}));
        } else {
            let mut r = json!({"verbs": rule.verbs, "apiGroups": rule.api_groups.clone().unwrap_or_default(),
                "resources": rule.resources.clone().unwrap_or_default()});
            if let Some(names) = rule.resource_names.as_ref().filter(|n| !n.is_empty()) {
                r["resourceNames"] = json!(names);
            }
            resource_rules.push(r);
        }
    }
    json!({"resourceRules": resource_rules, "nonResourceRules": non_resource_rules,
        "incomplete": false})
}
