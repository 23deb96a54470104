//! One replica: `skiff push` and an ORAS pull of the same bytes; a file that is not Wasm is
//! refused before anything is uploaded; wrong digest, bad manifest, missing blob, a node token
//! pushing and no token at all each get the spec's error code; the default roles in the
//! registry (`default_roles`); `Range` reads and `skiff push` through `--context` (`ranges`).

use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};
use skiff_tests::{ApiClient, Kubectl, Replica, ReplicaOptions, run_bounded};

use crate::support::{OrasTarget, example, pushed_digest, skiff_push};

const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// The spec's error code in an answer's envelope.
fn code(body: &Value) -> &str {
    body["errors"][0]["code"].as_str().unwrap_or("<no code>")
}

/// A node's own token, from `/skiff/v1/node-join` with the agent token.
async fn node_token(replica: &Replica, name: &str) -> anyhow::Result<String> {
    let agent = std::fs::read_to_string(replica.data_dir.join("agent-token"))?;
    let secret = agent
        .trim()
        .rsplit(':')
        .next()
        .context("empty agent token")?;
    let joiner = ApiClient::with_token(replica, Some(secret))?;
    let answer = joiner
        .json(
            Method::POST,
            "/skiff/v1/node-join",
            &json!({"nodeName": name}),
        )
        .await?
        .ok()?;
    Ok(answer["token"].as_str().context("no token")?.to_owned())
}

#[test]
fn skiff_push_then_oras_pull_and_the_spec_error_codes() {
    run_bounded("registry-protocol", Duration::from_secs(300), async {
        let replica = Replica::start(ReplicaOptions::new("registry-protocol")).await?;
        let kubeconfig = replica.data_dir.join("admin.kubeconfig");
        let module = example("http-hello")?;
        let pushed = skiff_push(&kubeconfig, &module, "hello:v1").await?;
        anyhow::ensure!(pushed.success, "skiff push failed: {}", pushed.stderr);
        let digest = pushed_digest(&pushed)?;
        let oras = OrasTarget::builtin(&replica)?;
        let pulled = oras.pull("hello:v1").await?;
        anyhow::ensure!(
            std::fs::read(&pulled)? == std::fs::read(&module)?,
            "ORAS pulled other bytes"
        );
        crate::ranges::range_reads(&replica, &std::fs::read(&module)?).await?;
        crate::ranges::push_follows_context(&replica, &module).await?;
        let admin = ApiClient::admin(&replica)?;
        let by_digest = admin.get(&format!("/v2/hello/manifests/{digest}")).await?;
        assert_eq!(
            by_digest.status, 200,
            "the printed digest names the manifest"
        );
        assert_eq!(by_digest.body["layers"][0]["mediaType"], "application/wasm");
        assert_eq!(
            by_digest.body["config"]["mediaType"],
            "application/vnd.wasm.config.v0+json"
        );

        let text = skiff_tests::scratch_dir("registry-not-wasm")?.join("notes.txt");
        std::fs::write(&text, "not a module")?;
        let refused = skiff_push(&kubeconfig, &text, "notes:v1").await?;
        assert!(
            !refused.success && refused.stderr.contains("not a WebAssembly"),
            "{}",
            refused.stderr
        );
        let tags = admin.get("/v2/notes/tags/list").await?;
        assert_eq!(
            (tags.status.as_u16(), code(&tags.body)),
            (404, "NAME_UNKNOWN"),
            "nothing was uploaded"
        );

        spec_error_codes(&admin).await?;
        node_may_pull_but_not_push(&replica).await?;
        rbac_decides_for_service_accounts(&replica).await?;
        crate::default_roles::view_pulls_and_edit_pushes(&replica).await?;
        let anonymous = ApiClient::with_token(&replica, None)?.get("/v2/").await?;
        assert_eq!(
            (anonymous.status.as_u16(), code(&anonymous.body)),
            (401, "UNAUTHORIZED")
        );
        Ok(())
    });
}

async fn spec_error_codes(admin: &ApiClient) -> anyhow::Result<()> {
    let wrong = admin
        .send(
            Method::POST,
            &format!("/v2/app/blobs/uploads/?digest={EMPTY}"),
            "application/octet-stream",
            Bytes::from_static(b"not empty"),
        )
        .await?;
    assert_eq!(
        (wrong.status.as_u16(), code(&wrong.body)),
        (400, "DIGEST_INVALID")
    );
    let bad = admin
        .send(
            Method::PUT,
            "/v2/app/manifests/v1",
            MANIFEST,
            Bytes::from_static(b"{\"schemaVersion\": 2, \"config\": 7"),
        )
        .await?;
    assert_eq!(
        (bad.status.as_u16(), code(&bad.body)),
        (400, "MANIFEST_INVALID")
    );
    let missing = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    let manifest = json!({
        "schemaVersion": 2, "mediaType": MANIFEST,
        "config": {"mediaType": "application/vnd.wasm.config.v0+json", "digest": missing, "size": 2},
        "layers": [{"mediaType": "application/wasm", "digest": missing, "size": 8}],
    });
    let unknown = admin
        .send(
            Method::PUT,
            "/v2/app/manifests/v1",
            MANIFEST,
            manifest.to_string(),
        )
        .await?;
    assert_eq!(
        (unknown.status.as_u16(), code(&unknown.body)),
        (400, "MANIFEST_BLOB_UNKNOWN")
    );
    let blob = admin.get(&format!("/v2/app/blobs/{missing}")).await?;
    assert_eq!(
        (blob.status.as_u16(), code(&blob.body)),
        (404, "BLOB_UNKNOWN")
    );
    Ok(())
}

async fn node_may_pull_but_not_push(replica: &Replica) -> anyhow::Result<()> {
    let token = node_token(replica, "registry-node").await?;
    let node = ApiClient::with_token(replica, Some(&token))?;
    let pull = node.get("/v2/hello/manifests/v1").await?;
    assert_eq!(pull.status, 200, "a node may pull: {}", pull.body);
    let push = node
        .send(
            Method::POST,
            "/v2/hello/blobs/uploads/",
            "application/octet-stream",
            Bytes::new(),
        )
        .await?;
    assert_eq!((push.status.as_u16(), code(&push.body)), (403, "DENIED"));
    let delete = node
        .send(
            Method::DELETE,
            "/v2/hello/manifests/v1",
            "application/json",
            Bytes::new(),
        )
        .await?;
    assert_eq!(
        (delete.status.as_u16(), code(&delete.body)),
        (403, "DENIED")
    );
    Ok(())
}

/// A service account may do what RBAC grants on `repositories.registry.skiff.io`, no more.
async fn rbac_decides_for_service_accounts(replica: &Replica) -> anyhow::Result<()> {
    let kubectl = Kubectl::for_replica(replica)?;
    kubectl.ok(&["create", "serviceaccount", "puller"]).await?;
    let token = kubectl
        .ok(&["create", "token", "puller"])
        .await?
        .trim()
        .to_owned();
    let sa = ApiClient::with_token(replica, Some(&token))?;
    let before = sa.get("/v2/hello/manifests/v1").await?;
    assert_eq!(
        (before.status.as_u16(), code(&before.body)),
        (403, "DENIED")
    );
    // kubectl create clusterrole checks resources against discovery; the pseudo-resource is
    // not served there, so the role is applied as an object.
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "registry-puller"},
        "rules": [{"apiGroups": ["registry.skiff.io"], "resources": ["repositories"],
                   "resourceNames": ["hello"], "verbs": ["pull"]}],
    });
    kubectl
        .ok_stdin(&["apply", "-f", "-"], &role.to_string())
        .await?;
    kubectl
        .ok(&[
            "create",
            "clusterrolebinding",
            "registry-puller",
            "--clusterrole=registry-puller",
            "--serviceaccount=default:puller",
        ])
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let after = sa.get("/v2/hello/manifests/v1").await?;
        if after.status == 200 {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the binding did not allow pull: {}",
            after.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let other = sa.get("/v2/app/tags/list").await?;
    assert_eq!(
        (other.status.as_u16(), code(&other.body)),
        (403, "DENIED"),
        "only the named repository"
    );
    let push = sa
        .send(
            Method::POST,
            "/v2/hello/blobs/uploads/",
            "application/octet-stream",
            Bytes::new(),
        )
        .await?;
    assert_eq!(
        (push.status.as_u16(), code(&push.body)),
        (403, "DENIED"),
        "pull does not grant push"
    );
    Ok(())
}
