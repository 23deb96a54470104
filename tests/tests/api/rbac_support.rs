//! Set-up the RBAC tests share: namespaces, service accounts and their TokenRequest tokens,
//! roles and bindings made as the admin, and waiting for ClusterRole aggregation.

use std::time::Duration;

use anyhow::{Context, bail};
use http::Method;
use serde_json::{Value, json};
use skiff_tests::{ApiClient, Replica};
use tokio::time::{Instant, sleep};

pub const RBAC: &str = "/apis/rbac.authorization.k8s.io/v1";

pub fn rule(verbs: &[&str], group: &str, resources: &[&str]) -> Value {
    json!({"apiGroups": [group], "resources": resources, "verbs": verbs})
}

pub fn role(name: &str, rules: Vec<Value>) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": name}, "rules": rules})
}

/// A RoleBinding of `role_kind/role` to service account `ns/sa`.
pub fn sa_binding(name: &str, role_kind: &str, role: &str, ns: &str, sa: &str) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]})
}

/// Creates namespaces and service accounts (`ns/name` each) as the admin.
pub async fn accounts(
    admin: &ApiClient,
    namespaces: &[&str],
    accounts: &[(&str, &str)],
) -> anyhow::Result<()> {
    for ns in namespaces {
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        admin
            .json(Method::POST, "/api/v1/namespaces", &body)
            .await?
            .ok()?;
    }
    for (ns, name) in accounts {
        let body =
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}});
        let path = format!("/api/v1/namespaces/{ns}/serviceaccounts");
        admin.json(Method::POST, &path, &body).await?.ok()?;
    }
    Ok(())
}

/// POSTs `body` to the namespaced RBAC `plural` of `ns` as `client`.
pub async fn create_in(
    client: &ApiClient,
    ns: &str,
    plural: &str,
    body: &Value,
) -> anyhow::Result<skiff_tests::Answer> {
    client
        .json(
            Method::POST,
            &format!("{RBAC}/namespaces/{ns}/{plural}"),
            body,
        )
        .await
}

/// A TokenRequest token for `ns/sa`, asked for by `admin` with `spec`.
pub async fn token_with(
    admin: &ApiClient,
    ns: &str,
    sa: &str,
    spec: Value,
) -> anyhow::Result<skiff_tests::Answer> {
    let body =
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec});
    let path = format!("/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token");
    admin.json(Method::POST, &path, &body).await
}

/// A one-hour token for `ns/sa` and a client that uses it.
pub async fn sa_client(
    replica: &Replica,
    admin: &ApiClient,
    ns: &str,
    sa: &str,
) -> anyhow::Result<(String, ApiClient)> {
    let issued = token_with(admin, ns, sa, json!({})).await?.ok()?;
    let token = issued["status"]["token"]
        .as_str()
        .context("TokenRequest status.token")?
        .to_owned();
    let client = ApiClient::with_token(replica, Some(&token))?;
    Ok((token, client))
}

/// Waits until ClusterRole `name` holds a rule for `resource` (aggregation runs in the
/// background).
pub async fn aggregated(admin: &ApiClient, name: &str, resource: &str) -> anyhow::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let role = admin.get(&format!("{RBAC}/clusterroles/{name}")).await?;
        let has = role.body["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| {
                r["resources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|x| x == resource)
            });
        if role.status.is_success() && has {
            return Ok(role.body);
        }
        if Instant::now() > deadline {
            bail!(
                "ClusterRole {name} has no rule for {resource} after 10 s: {}",
                role.body
            );
        }
        sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `client` may GET `path`: a new binding reaches every replica's policy cache a
/// moment after its write commits (as Kubernetes' informers do).
pub async fn until_allowed(client: &ApiClient, path: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let answer = client.get(path).await?;
        if answer.status.is_success() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{path} still refused 5 s after the binding: {}",
                answer.body
            );
        }
        sleep(Duration::from_millis(20)).await;
    }
}
