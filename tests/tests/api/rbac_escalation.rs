//! Escalation prevention over HTTPS, as a service account that may write roles and bindings in
//! one namespace: a role granting more than it holds is refused with Kubernetes' message, so is
//! an update adding a verb and a binding to a role it does not hold; `bind` on a role lets it
//! bind that role anyway; cluster-scoped RBAC objects stay out of reach.

use anyhow::ensure;
use http::Method;
use serde_json::json;
use skiff_tests::{ApiClient, Replica};

use crate::rbac_support::{RBAC, create_in, role, rule, sa_binding, sa_client, until_allowed};

/// No one grants what they do not hold; `bind` lets one bind a role one does not hold.
pub(crate) async fn escalation(replica: &Replica, admin: &ApiClient) -> anyhow::Result<()> {
    let mut bind_view = rule(&["bind"], "rbac.authorization.k8s.io", &["clusterroles"]);
    bind_view["resourceNames"] = json!(["view"]);
    let delegator = role(
        "delegator",
        vec![
            rule(
                &["create", "update", "get"],
                "rbac.authorization.k8s.io",
                &["roles", "rolebindings"],
            ),
            rule(&["get", "list"], "", &["pods"]),
            bind_view,
        ],
    );
    create_in(admin, "dev", "roles", &delegator).await?.ok()?;
    let binding = sa_binding("lead-delegates", "Role", "delegator", "dev", "lead");
    create_in(admin, "dev", "rolebindings", &binding)
        .await?
        .ok()?;
    let (_, lead) = sa_client(replica, admin, "dev", "lead").await?;
    until_allowed(&lead, "/api/v1/namespaces/dev/pods").await?;

    let too_much = role("too-much", vec![rule(&["get", "delete"], "", &["pods"])]);
    let refused = create_in(&lead, "dev", "roles", &too_much).await?;
    let message = refused.expect_status(403, "Forbidden")?;
    let expected = r#"roles.rbac.authorization.k8s.io "too-much" is forbidden: user "system:serviceaccount:dev:lead" (groups=["system:serviceaccounts" "system:serviceaccounts:dev" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:
{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}"#;
    ensure!(message == expected, "{message}");

    let enough = role("enough", vec![rule(&["get"], "", &["pods"])]);
    create_in(&lead, "dev", "roles", &enough).await?.ok()?;
    // Updating it to grant more is refused the same way.
    let path = format!("{RBAC}/namespaces/dev/roles/enough");
    let mut more = lead.get(&path).await?.ok()?;
    more["rules"][0]["verbs"] = json!(["get", "watch"]);
    lead.json(Method::PUT, &path, &more)
        .await?
        .expect_status(403, "Forbidden")?;

    let to_enough = sa_binding("ci-enough", "Role", "enough", "dev", "ci");
    create_in(&lead, "dev", "rolebindings", &to_enough)
        .await?
        .ok()?;
    let to_edit = sa_binding("ci-edit", "ClusterRole", "edit", "dev", "ci");
    let message = create_in(&lead, "dev", "rolebindings", &to_edit)
        .await?
        .expect_status(403, "Forbidden")?;
    ensure!(
        message.contains("is attempting to grant RBAC permissions not currently held"),
        "{message}"
    );
    // `view` is not held either, but `bind` on it is granted.
    let to_view = sa_binding("ci-view", "ClusterRole", "view", "dev", "ci");
    create_in(&lead, "dev", "rolebindings", &to_view)
        .await?
        .ok()?;
    // And nothing at cluster scope.
    let cluster_role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "lead-made"}, "rules": []});
    let message = lead
        .json(Method::POST, &format!("{RBAC}/clusterroles"), &cluster_role)
        .await?
        .expect_status(403, "Forbidden")?;
    ensure!(message.starts_with(r#"clusterroles.rbac.authorization.k8s.io is forbidden: User "system:serviceaccount:dev:lead" cannot create resource "clusterroles""#), "{message}");
    Ok(())
}
