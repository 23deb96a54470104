//! The default roles in the built-in registry (issue 17): a repository `<ns>/<name>` is in
//! namespace `<ns>`, so a RoleBinding of `view` there lets a service account pull and not
//! push, one of `edit` push and pull (through the ORAS client, a token as its password), and
//! neither reaches another namespace's or a cluster-wide repository, nor deletes.

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde_json::Value;
use skiff_tests::{ApiClient, Kubectl, Replica};

use crate::support::{OrasTarget, example};

fn code(body: &Value) -> &str {
    body["errors"][0]["code"].as_str().unwrap_or("<no code>")
}

/// A service account `name` in `dev` bound to the ClusterRole `role` by a RoleBinding there;
/// its token.
async fn bound_account(kubectl: &Kubectl, name: &str, role: &str) -> anyhow::Result<String> {
    kubectl
        .ok(&["create", "serviceaccount", name, "-n", "dev"])
        .await?;
    let subject = format!("--serviceaccount=dev:{name}");
    let clusterrole = format!("--clusterrole={role}");
    kubectl
        .ok(&[
            "create",
            "rolebinding",
            name,
            &clusterrole,
            &subject,
            "-n",
            "dev",
        ])
        .await?;
    Ok(kubectl
        .ok(&["create", "token", name, "-n", "dev"])
        .await?
        .trim()
        .to_owned())
}

/// `client`'s status for a pull of `repo`'s manifest `v1`, retried while RBAC's cache and the
/// aggregation of the default roles catch up with the binding (a 403 turning into `want`).
async fn pull_status(client: &ApiClient, repo: &str, want: u16) -> anyhow::Result<(u16, String)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let answer = client.get(&format!("/v2/{repo}/manifests/v1")).await?;
        let got = (answer.status.as_u16(), code(&answer.body).to_owned());
        if got.0 == want || tokio::time::Instant::now() >= deadline {
            return Ok(got);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn start_upload(client: &ApiClient, repo: &str) -> anyhow::Result<(u16, String)> {
    let answer = client
        .send(
            Method::POST,
            &format!("/v2/{repo}/blobs/uploads/"),
            "application/octet-stream",
            Bytes::new(),
        )
        .await?;
    Ok((answer.status.as_u16(), code(&answer.body).to_owned()))
}

pub async fn view_pulls_and_edit_pushes(replica: &Replica) -> anyhow::Result<()> {
    let kubectl = Kubectl::for_replica(replica)?;
    kubectl.ok(&["create", "namespace", "dev"]).await?;
    let viewer_token = bound_account(&kubectl, "viewer", "view").await?;
    let editor_token = bound_account(&kubectl, "editor", "edit").await?;
    let module = example("http-hello")?;
    let as_editor = OrasTarget {
        user: "editor".into(),
        password: editor_token.clone(),
        ..OrasTarget::builtin(replica)?
    };
    // The ORAS push retries nothing: wait until RBAC lets the editor start an upload.
    let editor = ApiClient::with_token(replica, Some(&editor_token))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while start_upload(&editor, "dev/hello").await?.0 != 202 {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "edit cannot push");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    as_editor.push("dev/hello:v1", &module).await?;
    let pulled = as_editor.pull("dev/hello:v1").await?;
    anyhow::ensure!(
        std::fs::read(&pulled)? == std::fs::read(&module)?,
        "edit pulled other bytes"
    );

    let viewer = ApiClient::with_token(replica, Some(&viewer_token))?;
    let (status, why) = pull_status(&viewer, "dev/hello", 200).await?;
    assert_eq!(status, 200, "view may pull: {why}");
    let as_viewer = OrasTarget {
        user: "viewer".into(),
        password: viewer_token,
        ..OrasTarget::builtin(replica)?
    };
    let pulled = as_viewer.pull("dev/hello:v1").await?;
    anyhow::ensure!(
        std::fs::read(&pulled)? == std::fs::read(&module)?,
        "view pulled other bytes"
    );
    let denied = (403, "DENIED".to_owned());
    assert_eq!(
        start_upload(&viewer, "dev/hello").await?,
        denied,
        "view may not push"
    );
    assert!(
        as_viewer.push("dev/other:v1", &module).await.is_err(),
        "ORAS pushed as view"
    );
    // Not another namespace's repository, nor a cluster-wide one (`hello`, pushed earlier by
    // the admin): a RoleBinding grants only its namespace.
    assert_eq!(
        pull_status(&viewer, "hello", 403).await?,
        denied.clone(),
        "cluster-wide"
    );
    assert_eq!(
        start_upload(&editor, "prod/hello").await?,
        denied.clone(),
        "another namespace"
    );
    let delete = editor
        .send(
            Method::DELETE,
            "/v2/dev/hello/manifests/v1",
            "application/json",
            Bytes::new(),
        )
        .await?;
    assert_eq!(
        (delete.status.as_u16(), code(&delete.body).to_owned()),
        denied,
        "edit may not delete"
    );
    Ok(())
}
