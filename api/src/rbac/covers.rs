//! Whether rules a user holds cover rules they want to grant (Kubernetes'
//! `pkg/registry/rbac/validation`: `Covers`, `BreakdownRule`, `ruleCovers`), and the
//! descriptions of what is missing (`CompactString`), for escalation prevention.

use k8s_openapi::api::rbac::v1::PolicyRule;

use super::ALL;
use super::rules::strings;

fn has(list: &[String], wanted: &str) -> bool {
    list.iter().any(|s| s == wanted)
}

fn has_all(list: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|w| has(list, w))
}

fn one(s: &str) -> Option<Vec<String>> {
    Some(vec![s.to_owned()])
}

/// Splits a rule into rules of one verb, one group, one resource and one name (or one verb
/// and one URL).
fn breakdown(rule: &PolicyRule) -> Vec<PolicyRule> {
    let mut out = Vec::new();
    for group in strings(&rule.api_groups) {
        for resource in strings(&rule.resources) {
            for verb in &rule.verbs {
                let simple = PolicyRule {
                    api_groups: one(group),
                    resources: one(resource),
                    verbs: vec![verb.clone()],
                    ..PolicyRule::default()
                };
                let names = strings(&rule.resource_names);
                if names.is_empty() {
                    out.push(simple);
                    continue;
                }
                for name in names {
                    out.push(PolicyRule {
                        resource_names: one(name),
                        ..simple.clone()
                    });
                }
            }
        }
    }
    for url in strings(&rule.non_resource_urls) {
        for verb in &rule.verbs {
            out.push(PolicyRule {
                non_resource_urls: one(url),
                verbs: vec![verb.clone()],
                ..PolicyRule::default()
            });
        }
    }
    out
}

/// `*`, an exact match, or `*/<sub>` for a `resource/<sub>`.
fn resources_cover_all(owner: &[String], wanted: &[String]) -> bool {
    if has(owner, ALL) || has_all(owner, wanted) {
        return true;
    }
    wanted.iter().all(|path| {
        has(owner, path)
            || path
                .split_once('/')
                .is_some_and(|(_, sub)| has(owner, &format!("*/{sub}")))
    })
}

fn url_covers(owner: &str, wanted: &str) -> bool {
    owner == wanted || (owner.ends_with('*') && wanted.starts_with(owner.trim_end_matches('*')))
}

fn urls_cover_all(owner: &[String], wanted: &[String]) -> bool {
    wanted
        .iter()
        .all(|w| owner.iter().any(|o| url_covers(o, w)))
}

fn rule_covers(owner: &PolicyRule, wanted: &PolicyRule) -> bool {
    let verbs = has(&owner.verbs, ALL) || has_all(&owner.verbs, &wanted.verbs);
    let owner_groups = strings(&owner.api_groups);
    let groups = has(owner_groups, ALL) || has_all(owner_groups, strings(&wanted.api_groups));
    let resources = resources_cover_all(strings(&owner.resources), strings(&wanted.resources));
    let urls = urls_cover_all(
        strings(&owner.non_resource_urls),
        strings(&wanted.non_resource_urls),
    );
    let owner_names = strings(&owner.resource_names);
    let wanted_names = strings(&wanted.resource_names);
    // An owner limited to some names covers only requests for those names.
    let names =
        owner_names.is_empty() || (!wanted_names.is_empty() && has_all(owner_names, wanted_names));
    verbs && groups && resources && urls && names
}

/// Whether `owner` rules cover every one of `wanted`; the uncovered parts (one verb and one
/// resource each, with the verbs of otherwise equal parts merged) if not.
pub fn covers(owner: &[PolicyRule], wanted: &[PolicyRule]) -> Result<(), Vec<PolicyRule>> {
    let mut missing: Vec<PolicyRule> = Vec::new();
    for simple in wanted.iter().flat_map(breakdown) {
        if owner.iter().any(|o| rule_covers(o, &simple)) {
            continue;
        }
        let same_target = missing.iter_mut().find(|m| {
            PolicyRule {
                verbs: simple.verbs.clone(),
                ..(*m).clone()
            } == simple
        });
        match same_target {
            Some(m) if !has(&m.verbs, &simple.verbs[0]) => m.verbs.extend(simple.verbs),
            Some(_) => {}
            None => missing.push(simple),
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing)
    }
}

/// Go's `%q` of a string list: `["a" "b"]`.
fn go_quoted(list: &[String]) -> String {
    let items: Vec<String> = list.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", items.join(" "))
}

/// Kubernetes' `CompactString`: `{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`.
pub fn describe_rule(rule: &PolicyRule) -> String {
    let parts: Vec<String> = [
        ("APIGroups", strings(&rule.api_groups)),
        ("Resources", strings(&rule.resources)),
        ("NonResourceURLs", strings(&rule.non_resource_urls)),
        ("ResourceNames", strings(&rule.resource_names)),
        ("Verbs", rule.verbs.as_slice()),
    ]
    .into_iter()
    .filter(|(_, list)| !list.is_empty())
    .map(|(label, list)| format!("{label}:{}", go_quoted(list)))
    .collect();
    format!("{{{}}}", parts.join(", "))
}

/// Kubernetes' refusal of an escalation: `user "u" (groups=["g"]) is attempting to grant RBAC
/// permissions not currently held:` and one line per missing rule, sorted.
pub fn not_held_message(user: &super::UserInfo, missing: &[PolicyRule]) -> String {
    let mut lines: Vec<String> = missing.iter().map(describe_rule).collect();
    lines.sort();
    lines.dedup();
    format!(
        "user {:?} (groups={}) is attempting to grant RBAC permissions not currently held:\n{}",
        user.name,
        go_quoted(&user.groups),
        lines.join("\n")
    )
}
