//! RBAC end to end over HTTPS: the default roles exist and `view` is aggregated; a table of
//! (subject, verb, resource, namespace) -> allow/deny, asked both as real requests with
//! service-account tokens and as SubjectAccessReviews for users and groups; a ServiceAccount
//! bound in one namespace refused in another with Kubernetes' 403 wording; escalation refused
//! (a role granting more than its writer holds, a binding to a role not held) unless `bind`
//! is granted; a new ClusterRole labelled `aggregate-to-view` reaching `view`'s holders; the
//! default policy reconciled when the server starts again (`rbac_defaults`).

use std::time::Duration;

use anyhow::{Context, ensure};
use http::Method;
use serde_json::{Value, json};
use skiff_tests::{ApiClient, run_bounded};

use crate::manifests::one_replica;
use crate::rbac_support::{
    RBAC, accounts, aggregated, create_in, role, rule, sa_binding, sa_client, until_allowed,
};

#[test]
fn rbac_decides_prevents_escalation_and_aggregates() {
    run_bounded(
        "rbac_decides_prevents_escalation_and_aggregates",
        Duration::from_secs(120),
        scenario(),
    );
}

async fn scenario() -> anyhow::Result<()> {
    let mut replica = one_replica("rbac").await?;
    let admin = ApiClient::admin(&replica)?;
    for name in [
        "cluster-admin",
        "admin",
        "edit",
        "view",
        "system:basic-user",
        "system:discovery",
    ] {
        admin
            .get(&format!("{RBAC}/clusterroles/{name}"))
            .await?
            .ok()?;
    }
    aggregated(&admin, "view", "pods").await?;
    aggregated(&admin, "edit", "deployments").await?;
    accounts(
        &admin,
        &["dev", "prod"],
        &[("dev", "ci"), ("dev", "lead"), ("prod", "ci")],
    )
    .await?;
    let reads = role(
        "pod-reader",
        vec![rule(&["get", "list", "watch"], "", &["pods"])],
    );
    create_in(&admin, "dev", "roles", &reads).await?.ok()?;
    let binding = sa_binding("ci-reads", "Role", "pod-reader", "dev", "ci");
    create_in(&admin, "dev", "rolebindings", &binding)
        .await?
        .ok()?;

    let (_, ci) = sa_client(&replica, &admin, "dev", "ci").await?;
    let (_, prod_ci) = sa_client(&replica, &admin, "prod", "ci").await?;
    until_allowed(&ci, "/api/v1/namespaces/dev/pods").await?;
    requests_table(&ci, &prod_ci).await?;
    review_table(&admin).await?;
    crate::rbac_escalation::escalation(&replica, &admin).await?;
    aggregation(&admin, &prod_ci).await?;

    // A binding's roleRef never changes.
    let mut changed = admin
        .get(&format!("{RBAC}/namespaces/dev/rolebindings/ci-reads"))
        .await?
        .ok()?;
    changed["roleRef"]["name"] = json!("other");
    let path = format!("{RBAC}/namespaces/dev/rolebindings/ci-reads");
    let refused = admin.json(Method::PUT, &path, &changed).await?;
    let message = refused.expect_status(422, "Invalid")?;
    ensure!(message.contains("cannot change roleRef"), "{message}");
    crate::rbac_defaults::defaults_reconciled_on_restart(&mut replica, &admin).await
}

/// Real requests with service-account tokens: (client, method, path, expected status).
async fn requests_table(ci: &ApiClient, prod_ci: &ApiClient) -> anyhow::Result<()> {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
    let table: [(&ApiClient, Method, &str, u16); 9] = [
        (ci, Method::GET, "/api/v1/namespaces/dev/pods", 200),
        (
            ci,
            Method::GET,
            "/api/v1/namespaces/dev/pods?watch=1&timeoutSeconds=1",
            200,
        ),
        (ci, Method::GET, "/api/v1/namespaces/prod/pods", 403),
        (ci, Method::GET, "/api/v1/pods", 403),
        (ci, Method::GET, "/api/v1/namespaces/dev/secrets", 403),
        (ci, Method::POST, "/api/v1/namespaces/dev/configmaps", 403),
        (ci, Method::DELETE, "/api/v1/namespaces/dev/pods/web", 403),
        (prod_ci, Method::GET, "/api/v1/namespaces/dev/pods", 403),
        (prod_ci, Method::GET, "/api/v1/namespaces/prod/pods", 403),
    ];
    for (client, method, path, status) in table {
        let answer = client
            .send(method.clone(), path, "application/json", cm.to_string())
            .await?;
        ensure!(
            answer.status.as_u16() == status,
            "{method} {path}: expected {status}, got {} {}",
            answer.status,
            answer.body
        );
    }
    let other = ci.get("/api/v1/namespaces/prod/pods").await?;
    let message = other.expect_status(403, "Forbidden")?;
    ensure!(
        message
            == r#"pods is forbidden: User "system:serviceaccount:dev:ci" cannot list resource "pods" in API group "" in the namespace "prod""#,
        "{message}"
    );
    ensure!(other.body["details"]["kind"] == "pods", "{}", other.body);
    let cluster = ci
        .get("/api/v1/pods")
        .await?
        .expect_status(403, "Forbidden")?;
    ensure!(
        cluster.ends_with(r#"cannot list resource "pods" in API group "" at the cluster scope"#),
        "{cluster}"
    );
    let named = ci
        .send(
            Method::DELETE,
            "/api/v1/namespaces/dev/pods/web",
            "application/json",
            "",
        )
        .await?
        .expect_status(403, "Forbidden")?;
    ensure!(
        named.starts_with(r#"pods "web" is forbidden: User"#),
        "{named}"
    );
    Ok(())
}

/// A SubjectAccessReview as the admin; returns `status.allowed`.
async fn may(
    admin: &ApiClient,
    user: &str,
    groups: &[&str],
    attributes: Value,
) -> anyhow::Result<bool> {
    let key = if attributes.get("path").is_some() {
        "nonResourceAttributes"
    } else {
        "resourceAttributes"
    };
    let review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": user, "groups": groups, key: attributes}});
    let answer = admin
        .json(
            Method::POST,
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            &review,
        )
        .await?;
    ensure!(answer.status.as_u16() == 201, "{}", answer.body);
    answer.body["status"]["allowed"]
        .as_bool()
        .context("status.allowed")
}

/// Users and groups, which have no tokens here, through SubjectAccessReviews.
async fn review_table(admin: &ApiClient) -> anyhow::Result<()> {
    let edit = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "alice-edit"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}]});
    create_in(admin, "dev", "rolebindings", &edit).await?.ok()?;
    let ops = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "ops-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "ops"}]});
    admin
        .json(Method::POST, &format!("{RBAC}/clusterrolebindings"), &ops)
        .await?
        .ok()?;
    let auth = "system:authenticated";
    let res = |verb: &str, group: &str, resource: &str, ns: &str| json!({"verb": verb, "group": group, "resource": resource, "namespace": ns});
    // The two bindings reach the policy cache through its watch a moment after they commit.
    for (user, groups, attributes) in [
        ("alice", [auth], res("create", "apps", "deployments", "dev")),
        ("bob", ["ops"], res("list", "", "pods", "prod")),
    ] {
        skiff_tests::fleet::poll(
            "the new binding in the policy cache",
            Duration::from_secs(5),
            || may(admin, user, &groups, attributes.clone()),
        )
        .await?;
    }
    let table: Vec<(&str, Vec<&str>, Value, bool)> = vec![
        (
            "alice",
            vec![auth],
            res("create", "apps", "deployments", "dev"),
            true,
        ),
        ("alice", vec![auth], res("get", "", "secrets", "dev"), true),
        (
            "alice",
            vec![auth],
            res("create", "apps", "deployments", "prod"),
            false,
        ),
        (
            "alice",
            vec![auth],
            res("create", "rbac.authorization.k8s.io", "roles", "dev"),
            false,
        ),
        ("bob", vec!["ops"], res("list", "", "pods", "prod"), true),
        ("bob", vec!["ops"], res("list", "", "pods", ""), true),
        ("bob", vec!["ops"], res("delete", "", "pods", "prod"), false),
        ("bob", vec!["ops"], res("get", "", "secrets", "prod"), false),
        (
            "bob",
            vec!["system:masters"],
            res("delete", "", "nodes", ""),
            true,
        ),
        (
            "bob",
            vec![auth],
            res(
                "create",
                "authorization.k8s.io",
                "selfsubjectaccessreviews",
                "",
            ),
            true,
        ),
        (
            "bob",
            vec![auth],
            json!({"verb": "get", "path": "/healthz"}),
            true,
        ),
        (
            "bob",
            vec![],
            json!({"verb": "get", "path": "/apis"}),
            false,
        ),
        (
            "system:serviceaccount:dev:ci",
            vec![],
            res("list", "", "pods", "dev"),
            true,
        ),
        (
            "system:serviceaccount:dev:ci",
            vec![],
            res("list", "", "pods", "prod"),
            false,
        ),
    ];
    for (user, groups, attributes, allowed) in table {
        let got = may(admin, user, &groups, attributes.clone()).await?;
        ensure!(
            got == allowed,
            "{user} {groups:?} {attributes}: allowed {got}, expected {allowed}"
        );
    }
    Ok(())
}

/// A ClusterRole labelled `aggregate-to-view` extends `view`, and so what its holders may do.
async fn aggregation(admin: &ApiClient, prod_ci: &ApiClient) -> anyhow::Result<()> {
    let binding = sa_binding("ci-view", "ClusterRole", "view", "prod", "ci");
    create_in(admin, "prod", "rolebindings", &binding)
        .await?
        .ok()?;
    until_allowed(prod_ci, "/api/v1/namespaces/prod/pods").await?;
    let leases = "/apis/coordination.k8s.io/v1/namespaces/prod/leases";
    prod_ci.get(leases).await?.expect_status(403, "Forbidden")?;
    let lease_reader = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "lease-reader",
            "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
        "rules": [rule(&["get", "list", "watch"], "coordination.k8s.io", &["leases"])]});
    admin
        .json(Method::POST, &format!("{RBAC}/clusterroles"), &lease_reader)
        .await?
        .ok()?;
    aggregated(admin, "view", "leases").await?;
    // The policy cache follows the aggregated write; allow it a moment.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !prod_ci.get(leases).await?.status.is_success() {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "view's new rule not in force"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    prod_ci
        .get("/api/v1/namespaces/prod/secrets")
        .await?
        .expect_status(403, "Forbidden")?;
    // `edit` aggregates `view`, and `admin` aggregates `edit`.
    aggregated(admin, "admin", "leases").await?;
    // Only system:masters may write an aggregationRule: nobody else holds `*`.
    Ok(())
}
