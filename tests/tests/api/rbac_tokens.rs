//! TokenRequest tokens and the self reviews over HTTPS, and the official Python client with a
//! Role-bound ServiceAccount token: tokens work as their account until it (or the pod they are
//! bound to) is deleted; a token for another audience, or a too short lifetime, is refused;
//! SelfSubjectReview, SelfSubjectAccessReview and SelfSubjectRulesReview answer for the caller;
//! TokenReview answers for the audiences a token was issued for.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, ensure};
use http::Method;
use serde_json::{Value, json};
use skiff_tests::{ApiClient, run_bounded};
use tokio::process::Command;
use tokio::time::{Instant, sleep, timeout};

use crate::manifests::{one_replica, pod_json};
use crate::python_client::ensure_python_client;
use crate::rbac_support::{
    accounts, create_in, role, rule, sa_binding, sa_client, token_with, until_allowed,
};

#[test]
fn token_requests_and_self_reviews() {
    run_bounded(
        "token_requests_and_self_reviews",
        Duration::from_secs(90),
        tokens_scenario(),
    );
}

/// Polls until `client` gets 401 on `path` (at most 5 s).
async fn until_unauthorized(client: &ApiClient, path: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while client.get(path).await?.status.as_u16() != 401 {
        ensure!(Instant::now() < deadline, "{path}: the token still works");
        sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn tokens_scenario() -> anyhow::Result<()> {
    let replica = one_replica("sa-tokens").await?;
    let admin = ApiClient::admin(&replica)?;
    accounts(&admin, &["apps"], &[("apps", "builder"), ("apps", "gone")]).await?;
    let reads = role("pod-reader", vec![rule(&["get", "list"], "", &["pods"])]);
    create_in(&admin, "apps", "roles", &reads).await?.ok()?;
    let binding = sa_binding("builder-reads", "Role", "pod-reader", "apps", "builder");
    create_in(&admin, "apps", "rolebindings", &binding)
        .await?
        .ok()?;

    let issued = token_with(&admin, "apps", "builder", json!({"expirationSeconds": 600})).await?;
    ensure!(issued.status.as_u16() == 201, "{}", issued.body);
    ensure!(issued.body["kind"] == "TokenRequest", "{}", issued.body);
    ensure!(
        issued.body["status"]["expirationTimestamp"].is_string(),
        "{}",
        issued.body
    );
    let token = issued.body["status"]["token"].as_str().context("token")?;
    let builder = ApiClient::with_token(&replica, Some(token))?;
    until_allowed(&builder, "/api/v1/namespaces/apps/pods").await?;
    builder
        .get("/api/v1/namespaces/apps/secrets")
        .await?
        .expect_status(403, "Forbidden")?;

    let me = builder
        .json(
            Method::POST,
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}),
        )
        .await?
        .ok()?;
    ensure!(
        me["status"]["userInfo"]["username"] == "system:serviceaccount:apps:builder",
        "{me}"
    );
    let groups = me["status"]["userInfo"]["groups"].to_string();
    ensure!(groups.contains("system:serviceaccounts:apps"), "{me}");
    self_reviews(&builder).await?;

    // Another audience's token is not the API server's; too short a lifetime is refused.
    let vault = token_with(&admin, "apps", "builder", json!({"audiences": ["vault"]}))
        .await?
        .ok()?;
    let vault = vault["status"]["token"]
        .as_str()
        .context("vault token")?
        .to_owned();
    ApiClient::with_token(&replica, Some(&vault))?
        .get("/api/v1/namespaces/apps/pods")
        .await?
        .expect_status(401, "Unauthorized")?;
    token_reviews(&admin, &builder, &vault, token).await?;
    let short = token_with(&admin, "apps", "builder", json!({"expirationSeconds": 60})).await?;
    let message = short.expect_status(422, "Invalid")?;
    ensure!(
        message.contains("may not specify a duration less than 10 minutes"),
        "{message}"
    );
    token_with(&admin, "apps", "nobody", json!({}))
        .await?
        .expect_status(404, "NotFound")?;

    // Bound to a pod: ends with the pod.
    let mut pod = pod_json("worker", "x", None);
    pod["spec"]["serviceAccountName"] = json!("builder");
    admin
        .json(Method::POST, "/api/v1/namespaces/apps/pods", &pod)
        .await?
        .ok()?;
    let bound = token_with(
        &admin,
        "apps",
        "builder",
        json!({"boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "worker"}}),
    )
    .await?
    .ok()?;
    let bound = ApiClient::with_token(&replica, bound["status"]["token"].as_str())?;
    bound.get("/api/v1/namespaces/apps/pods").await?.ok()?;
    admin
        .send(
            Method::DELETE,
            "/api/v1/namespaces/apps/pods/worker?gracePeriodSeconds=0",
            "application/json",
            "",
        )
        .await?
        .ok()?;
    until_unauthorized(&bound, "/api/v1/namespaces/apps/pods").await?;
    builder.get("/api/v1/namespaces/apps/pods").await?.ok()?;

    // Ends with its account.
    let (_, gone) = sa_client(&replica, &admin, "apps", "gone").await?;
    gone.get("/api").await?.ok()?;
    admin
        .send(
            Method::DELETE,
            "/api/v1/namespaces/apps/serviceaccounts/gone",
            "application/json",
            "",
        )
        .await?
        .ok()?;
    until_unauthorized(&gone, "/api").await?;
    Ok(())
}

/// TokenReview: a token is reviewed for the audiences it was issued for, and only by those
/// allowed to (the admin here; a service account is refused).
async fn token_reviews(
    admin: &ApiClient,
    builder: &ApiClient,
    vault: &str,
    builder_token: &str,
) -> anyhow::Result<()> {
    let path = "/apis/authentication.k8s.io/v1/tokenreviews";
    let review = |token: &str, audiences: Value| {
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": token, "audiences": audiences}})
    };
    let table = [
        (vault, json!(["vault"]), true),
        (vault, json!([]), false),
        (builder_token, json!([]), true),
        (builder_token, json!(["vault"]), false),
        ("not-a-token", json!([]), false),
    ];
    for (token, audiences, authenticated) in table {
        let answer = admin
            .json(Method::POST, path, &review(token, audiences.clone()))
            .await?
            .ok()?;
        ensure!(
            answer["status"]["authenticated"] == authenticated,
            "{audiences}: {answer}"
        );
        if authenticated {
            let user = &answer["status"]["user"]["username"];
            ensure!(user == "system:serviceaccount:apps:builder", "{answer}");
        }
    }
    builder
        .json(Method::POST, path, &review(vault, json!(["vault"])))
        .await?
        .expect_status(403, "Forbidden")?;
    Ok(())
}

/// `kubectl auth can-i`'s and `--list`'s requests, as JSON.
async fn self_reviews(builder: &ApiClient) -> anyhow::Result<()> {
    let ask = |verb: &str, resource: &str, ns: &str| {
        json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "namespace": ns}}})
    };
    let path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    for (verb, resource, ns, allowed) in [
        ("list", "pods", "apps", true),
        ("delete", "pods", "apps", false),
        ("list", "pods", "default", false),
    ] {
        let review = builder
            .json(Method::POST, path, &ask(verb, resource, ns))
            .await?
            .ok()?;
        ensure!(
            review["status"]["allowed"] == allowed,
            "{verb} {resource} in {ns}: {review}"
        );
    }
    let rules = builder
        .json(
            Method::POST,
            "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            &json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
                "spec": {"namespace": "apps"}}),
        )
        .await?
        .ok()?;
    let listed = rules["status"]["resourceRules"].to_string();
    ensure!(
        listed.contains("\"pods\"") && listed.contains("selfsubjectaccessreviews"),
        "{rules}"
    );
    ensure!(
        rules["status"]["nonResourceRules"]
            .to_string()
            .contains("/healthz"),
        "{rules}"
    );
    // SubjectAccessReview (about others) is not for service accounts.
    builder
        .json(
            Method::POST,
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            &json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "spec": {"user": "x", "resourceAttributes": {"verb": "get", "resource": "pods"}}}),
        )
        .await?
        .expect_status(403, "Forbidden")?;
    Ok(())
}

#[test]
fn python_client_with_a_role_bound_token() {
    run_bounded(
        "python_client_with_a_role_bound_token",
        Duration::from_secs(180),
        async {
            ensure_python_client().await?;
            let replica = one_replica("python-rbac").await?;
            let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/rbac_check.py");
            let run = Command::new("python3")
                .arg(&script)
                .arg(replica.data_dir.join("admin.kubeconfig"))
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output();
            let output = timeout(Duration::from_secs(90), run)
                .await
                .context("rbac_check.py timed out")??;
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            eprintln!("python rbac:\n{stdout}");
            ensure!(
                output.status.success() && stdout.lines().last() == Some("OK"),
                "rbac_check.py failed ({}):\nstdout: {stdout}\nstderr: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
            Ok(())
        },
    );
}
