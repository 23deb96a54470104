//! The web dashboard (issue 19) in Debian's headless Chromium, driven by playwright-core
//! (`tests/dashboard/dashboard.mjs`) against `skiff up`: sign-in errors, "forbidden" for a
//! token without rights, then the admin's tour (node Ready, upload and rollout of the HTTP
//! example, scale to 3, logs that follow, a CrashLoopBackOff flagged, pasted YAML, the YAML
//! view, restart). Screenshots of every step land in `$CARGO_TARGET_TMPDIR/dashboard/`.
//! Afterwards the real kubectl checks what the page did, and the files' HTTP answers (gzip,
//! ETag, 304) are checked with curl.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use skiff_tests::{Kubectl, Replica};
use tokio::process::Command;
use tokio::time::timeout;

use crate::support::guest;

/// The whole browser script; each of its waits is bounded by `STEP_MS` on top.
const SCRIPT_LIMIT: Duration = Duration::from_secs(420);

/// Where the playwright-core package is installed (`scripts/setup.sh` runs `npm ci` there).
fn script_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dashboard")
}

/// The admin's bearer token, from the kubeconfig `skiff up` wrote.
fn admin_token(replica: &Replica) -> anyhow::Result<String> {
    let path = replica.data_dir.join("admin.kubeconfig");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let config: serde_yaml::Value = serde_yaml::from_str(&text)?;
    config["users"][0]["user"]["token"]
        .as_str()
        .map(str::to_owned)
        .context("the admin kubeconfig has no token")
}

/// A ServiceAccount bound to nothing, and a token for it: it authenticates, and may do nothing.
async fn token_without_rights(kubectl: &Kubectl) -> anyhow::Result<String> {
    kubectl.ok(&["create", "serviceaccount", "nobody"]).await?;
    let token = kubectl.ok(&["create", "token", "nobody"]).await?;
    Ok(token.trim().to_owned())
}

/// Runs the Playwright script; its output is printed whatever the outcome.
async fn run_script(replica: &Replica, tokens: (&str, &str), out: &Path) -> anyhow::Result<()> {
    let dir = script_dir();
    ensure!(
        dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed in {}: run scripts/setup.sh",
        dir.display()
    );
    let child = Command::new("node")
        .arg(dir.join("dashboard.mjs"))
        .current_dir(&dir)
        .env("SKIFF_URL", replica.url())
        .env("ADMIN_TOKEN", tokens.0)
        .env("NO_RIGHTS_TOKEN", tokens.1)
        .env("NODE", super::DASHBOARD_NODE)
        .env("HTTP_WASM", guest("http-server")?)
        .env("CRASHER_WASM", guest("crasher")?)
        .env("OUT_DIR", out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting node (is nodejs installed? scripts/setup.sh installs it)")?;
    let output = timeout(SCRIPT_LIMIT, child.wait_with_output())
        .await
        .context("the dashboard script ran out of time")??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}{stderr}");
    ensure!(
        output.status.success() && stdout.contains("every step passed"),
        "the dashboard script failed ({}); screenshots in {}:\n{stdout}\n{stderr}",
        output.status,
        out.display()
    );
    Ok(())
}

/// What the page did, as kubectl sees it.
async fn check_with_kubectl(kubectl: &Kubectl) -> anyhow::Result<()> {
    let replicas = kubectl
        .ok(&[
            "get",
            "deployment",
            "hello",
            "-o",
            "jsonpath={.spec.replicas}",
        ])
        .await?;
    ensure!(replicas.trim() == "3", "hello has {replicas} replicas");
    let image = kubectl
        .ok(&[
            "get",
            "deployment",
            "crasher",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ])
        .await?;
    ensure!(
        image == "registry.skiff.local/crasher:v1",
        "crasher runs {image}"
    );
    let note = kubectl
        .ok(&[
            "get",
            "configmap",
            "from-dashboard",
            "-o",
            "jsonpath={.data.note}",
        ])
        .await?;
    ensure!(note == "pasted", "the pasted ConfigMap holds {note:?}");
    let restarted = kubectl
        .ok(&[
            "get",
            "deployment",
            "hello",
            "-o",
            r"jsonpath={.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}",
        ])
        .await?;
    ensure!(
        restarted.starts_with("20"),
        "no restartedAt annotation: {restarted:?}"
    );
    Ok(())
}

/// The files over real HTTPS: gzip when asked, and a 304 for the ETag the browser holds.
async fn check_file_headers(replica: &Replica) -> anyhow::Result<()> {
    let url = format!("{}/dashboard/", replica.url());
    let head = curl(&[
        "-sk",
        "-D",
        "-",
        "-o",
        "/dev/null",
        "-H",
        "Accept-Encoding: gzip",
        &url,
    ])
    .await?;
    let lower = head.to_ascii_lowercase();
    ensure!(lower.contains("content-encoding: gzip"), "no gzip: {head}");
    ensure!(
        lower.contains("content-type: text/html"),
        "not HTML: {head}"
    );
    let Some(etag) = head.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .starts_with("etag:")
            .then(|| l[5..].trim().to_owned())
    }) else {
        bail!("no ETag: {head}");
    };
    let again = curl(&[
        "-sk",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        &format!("If-None-Match: {etag}"),
        &url,
    ])
    .await?;
    ensure!(again == "304", "a known ETag got {again}");
    Ok(())
}

async fn curl(args: &[&str]) -> anyhow::Result<String> {
    let output = timeout(
        Duration::from_secs(30),
        Command::new("curl").args(args).output(),
    )
    .await
    .context("curl ran out of time")??;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

pub async fn drive(replica: &Replica, kubectl: &Kubectl) -> anyhow::Result<()> {
    check_file_headers(replica).await?;
    let admin = admin_token(replica)?;
    let nobody = token_without_rights(kubectl).await?;
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    run_script(replica, (&admin, &nobody), &out).await?;
    check_with_kubectl(kubectl).await
}
