//! Over real HTTPS on the replica of `protocol`: blob reads with `Range` (206 with
//! `Content-Range` and exactly those bytes, 416 with `bytes */size`), and `skiff push` finding
//! the cluster through `--context` in a kubeconfig whose current context is unreachable (and,
//! without it, an error naming that URL and kubeconfig), as every client verb does.

use anyhow::{Context, ensure};
use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use skiff_tests::{ApiClient, Kubectl, Replica};

use crate::support::skiff_push;

/// GETs `path` with `Range: range`; status, headers and body.
async fn get_range(
    replica: &Replica,
    path: &str,
    range: &str,
) -> anyhow::Result<(StatusCode, http::HeaderMap, Bytes)> {
    let ca = std::fs::read(replica.data_dir.join("pki/ca.crt"))?;
    let token = std::fs::read_to_string(replica.data_dir.join("admin-token"))?;
    let client = skiff_tests::https_client(&ca)?;
    let request = Request::get(format!("{}{path}", replica.url()))
        .header(header::AUTHORIZATION, format!("Bearer {}", token.trim()))
        .header(header::RANGE, range)
        .body(Full::new(Bytes::new()))?;
    let response = client.request(request).await?;
    let (parts, body) = response.into_parts();
    Ok((
        parts.status,
        parts.headers,
        body.collect().await?.to_bytes(),
    ))
}

/// Ranges of the pushed module `bytes`, the layer of `hello:v1`.
pub async fn range_reads(replica: &Replica, bytes: &[u8]) -> anyhow::Result<()> {
    let manifest = ApiClient::admin(replica)?
        .get("/v2/hello/manifests/v1")
        .await?
        .ok()?;
    let digest = manifest["layers"][0]["digest"]
        .as_str()
        .context("no layer digest")?;
    let path = format!("/v2/hello/blobs/{digest}");
    let size = bytes.len();
    let cases = [
        ("bytes=0-7".to_owned(), 0, 7),
        (format!("bytes={}-", size - 100), size - 100, size - 1),
        ("bytes=-10".to_owned(), size - 10, size - 1),
    ];
    for (range, first, last) in cases {
        let (status, headers, body) = get_range(replica, &path, &range).await?;
        ensure!(status == StatusCode::PARTIAL_CONTENT, "{range}: {status}");
        let wanted = format!("bytes {first}-{last}/{size}");
        ensure!(
            headers[header::CONTENT_RANGE] == wanted.as_str(),
            "{headers:?}"
        );
        ensure!(body[..] == bytes[first..=last], "{range}: other bytes");
    }
    let past = format!("bytes={size}-");
    let (status, headers, body) = get_range(replica, &path, &past).await?;
    ensure!(
        status == StatusCode::RANGE_NOT_SATISFIABLE
            && headers[header::CONTENT_RANGE] == format!("bytes */{size}").as_str(),
        "{past}: {status} {headers:?}"
    );
    ensure!(
        String::from_utf8_lossy(&body).contains("RANGE_INVALID"),
        "{body:?}"
    );
    Ok(())
}

/// `skiff --context real push -n other` reaches the cluster the context names; without
/// `--context` the current (dead) one is tried and named in the error.
pub async fn push_follows_context(
    replica: &Replica,
    module: &std::path::Path,
) -> anyhow::Result<()> {
    let dir = skiff_tests::scratch_dir("registry-context")?;
    let kubeconfig = dir.join("config");
    std::fs::copy(replica.data_dir.join("admin.kubeconfig"), &kubeconfig)?;
    let kubectl = Kubectl::new(&kubeconfig)?;
    let real = kubectl.ok(&["config", "current-context"]).await?;
    let user = kubectl
        .ok(&[
            "config",
            "view",
            "-o",
            "jsonpath={.contexts[0].context.user}",
        ])
        .await?;
    kubectl
        .ok(&[
            "config",
            "set-cluster",
            "dead",
            "--server=https://127.0.0.1:1",
        ])
        .await?;
    kubectl
        .ok(&[
            "config",
            "set-context",
            "dead",
            "--cluster=dead",
            &format!("--user={}", user.trim()),
        ])
        .await?;
    kubectl.ok(&["config", "use-context", "dead"]).await?;

    let dead = skiff_push(&kubeconfig, module, "ctx:v1").await?;
    ensure!(
        !dead.success
            && dead.stderr.contains("https://127.0.0.1:1")
            && dead.stderr.contains(&kubeconfig.display().to_string()),
        "an unreachable cluster names its URL and kubeconfig: {}",
        dead.stderr
    );
    let out = tokio::process::Command::new(skiff_tests::skiff_bin())
        .arg("--context")
        .arg(real.trim())
        .args(["push", "-n", "other"])
        .arg(module)
        .arg("ctx:v1")
        .env("KUBECONFIG", &kubeconfig)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), out)
        .await
        .context("skiff push hung")??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success() && stdout.contains("pushed registry.skiff.local/ctx:v1"),
        "skiff --context {real} push: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
