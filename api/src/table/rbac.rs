//! Tables of RBAC objects (kubectl's `printRole`, `printClusterRole`, `printRoleBinding`,
//! `printClusterRoleBinding`): roles show when they were created, bindings the role they bind
//! and, with `-o wide`, their users, groups and service accounts.

use serde_json::{Value, json};

use super::age::since;
use super::fields::{list_at, name, str_at};
use super::{AGE, Column, NAME, Row, col, wide};

pub(super) const ROLE: &[Column] = &[
    NAME,
    col(
        "Created At",
        "date",
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
    ),
];

/// kubectl's `convertToHumanReadableDateType`: the creation time in RFC 3339, UTC.
pub(super) fn role(obj: &Value, _now: i64) -> Row {
    let created = str_at(obj, &["metadata", "creationTimestamp"]);
    let created = if created.is_empty() {
        "<unknown>"
    } else {
        created
    };
    vec![json!(name(obj)), json!(created)].into()
}

pub(super) const BINDING: &[Column] = &[
    NAME,
    col(
        "Role",
        "string",
        "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.",
    ),
    AGE,
    wide("Users", "string", "Users in the roleBinding"),
    wide("Groups", "string", "Groups in the roleBinding"),
    wide(
        "ServiceAccounts",
        "string",
        "ServiceAccounts in the roleBinding",
    ),
];

/// kubectl's `SubjectsStrings`: users, groups and `namespace/name` service accounts.
fn subjects(obj: &Value, kind: &str) -> String {
    list_at(obj, &["subjects"])
        .iter()
        .filter(|s| str_at(s, &["kind"]) == kind)
        .map(|s| match kind {
            "ServiceAccount" => format!("{}/{}", str_at(s, &["namespace"]), str_at(s, &["name"])),
            _ => str_at(s, &["name"]).to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn binding(obj: &Value, now: i64) -> Row {
    let role = format!(
        "{}/{}",
        str_at(obj, &["roleRef", "kind"]),
        str_at(obj, &["roleRef", "name"])
    );
    vec![
        json!(name(obj)),
        json!(role),
        json!(since(&obj["metadata"]["creationTimestamp"], now)),
        json!(subjects(obj, "User")),
        json!(subjects(obj, "Group")),
        json!(subjects(obj, "ServiceAccount")),
    ]
    .into()
}
