//! What the registry tests share: running `skiff push` and the ORAS client, waiting for a pod,
//! and the example guests.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use skiff_tests::{Kubectl, Replica};
use tokio::process::Command;
use tokio::time::{Instant, sleep};

/// One command's outcome.
pub struct Ran {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

async fn run(command: &mut Command, limit: Duration) -> anyhow::Result<Ran> {
    command.kill_on_drop(true);
    let output = tokio::time::timeout(limit, command.output())
        .await
        .with_context(|| format!("{command:?} did not finish within {limit:?}"))??;
    Ok(Ran {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// `skiff push FILE REFERENCE --kubeconfig K`.
pub async fn skiff_push(kubeconfig: &Path, file: &Path, reference: &str) -> anyhow::Result<Ran> {
    let mut command = Command::new(skiff_tests::skiff_bin());
    command
        .args(["push"])
        .arg(file)
        .arg(reference)
        .arg("--kubeconfig")
        .arg(kubeconfig);
    run(&mut command, Duration::from_secs(60)).await
}

/// The digest `skiff push` printed.
pub fn pushed_digest(ran: &Ran) -> anyhow::Result<String> {
    ran.stdout
        .lines()
        .find_map(|l| l.strip_prefix("digest: "))
        .map(str::to_owned)
        .with_context(|| format!("no digest in {:?}", ran.stdout))
}

/// The ORAS Python client, driven by a short script.
const ORAS_SCRIPT: &str = r#"
import sys, oras.provider
host, tls, user, password, op, target = sys.argv[1:7]
insecure = tls == "http"
# The built-in registry's 401 names a token realm; docker-registry's htpasswd asks for basic.
reg = oras.provider.Registry(hostname=host, insecure=insecure,
                             tls_verify=False if insecure else tls,
                             auth_backend="basic" if insecure else "token")
if user:
    reg.auth.set_basic_auth(user, password)
if op == "pull":
    print("\n".join(reg.pull(target=target, outdir=sys.argv[7])))
else:
    r = reg.push(target=target, files=[sys.argv[7] + ":application/wasm"],
                 manifest_config=sys.argv[8] + ":application/vnd.wasm.config.v0+json")
    r.raise_for_status()
    print(r.headers.get("Docker-Content-Digest"))
"#;

/// A registry as ORAS reaches it.
pub struct OrasTarget {
    /// `host:port`.
    pub host: String,
    /// The CA file to trust, or `None` for plain HTTP.
    pub ca: Option<PathBuf>,
    pub user: String,
    pub password: String,
}

impl OrasTarget {
    /// The built-in registry of `replica`, as the admin (the API token as the password).
    pub fn builtin(replica: &Replica) -> anyhow::Result<OrasTarget> {
        Ok(OrasTarget {
            host: replica.addr.to_string(),
            ca: Some(replica.data_dir.join("pki/ca.crt")),
            user: "admin".into(),
            password: std::fs::read_to_string(replica.data_dir.join("admin-token"))?
                .trim()
                .to_owned(),
        })
    }

    /// Runs the ORAS script in `dir` with `args`.
    async fn oras(&self, dir: &Path, args: &[&str]) -> anyhow::Result<Ran> {
        let script = dir.join("oras_client.py");
        std::fs::write(&script, ORAS_SCRIPT)?;
        let tls = match &self.ca {
            Some(ca) => ca.display().to_string(),
            None => "http".to_owned(),
        };
        let mut command = Command::new("python3");
        command
            .current_dir(dir)
            .arg(&script)
            .args([self.host.as_str(), &tls, &self.user, &self.password])
            .args(args);
        run(&mut command, Duration::from_secs(120)).await
    }

    /// Pulls `repo:tag` into a new directory; the path of its one layer.
    pub async fn pull(&self, reference: &str) -> anyhow::Result<PathBuf> {
        let out = skiff_tests::scratch_dir("oras-pull")?;
        let target = format!("{}/{reference}", self.host);
        let ran = self
            .oras(
                &out,
                &["pull", &target, &out.join("layers").display().to_string()],
            )
            .await?;
        if !ran.success {
            bail!("oras pull {target} failed: {}", ran.stderr);
        }
        let first = ran.stdout.lines().next().context("oras pulled no file")?;
        Ok(PathBuf::from(first.trim()))
    }

    /// Pushes `file` as an OCI Wasm artifact to `repo:tag`; the manifest digest.
    pub async fn push(&self, reference: &str, file: &Path) -> anyhow::Result<String> {
        let dir = skiff_tests::scratch_dir("oras-push")?;
        let layer = dir.join("module.wasm");
        std::fs::copy(file, &layer)?;
        let config = dir.join("config.json");
        let target = format!("{}/{reference}", self.host);
        std::fs::write(&config, r#"{"architecture":"wasm","os":"wasip2"}"#)?;
        // ORAS pushes only files under its working directory, named relative to it.
        let ran = self
            .oras(&dir, &["push", &target, "module.wasm", "config.json"])
            .await?;
        if !ran.success {
            bail!("oras push {target} failed: {}", ran.stderr);
        }
        Ok(ran.stdout.trim().to_owned())
    }
}

/// The .wasm of example guest `name`.
pub fn example(name: &str) -> anyhow::Result<PathBuf> {
    Ok(PathBuf::from(skiff_tests::fleet::example(name)?))
}

/// Waits until pod `name` in `default` is Running; its last JSON otherwise.
pub async fn wait_running(kubectl: &Kubectl, name: &str, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    let mut last = String::new();
    while Instant::now() < deadline {
        let out = kubectl.run(&["get", "pod", name, "-o", "json"], "").await?;
        if out.success {
            let pod: serde_json::Value = serde_json::from_str(&out.stdout)?;
            if pod["status"]["phase"] == "Running" {
                return Ok(());
            }
            last = pod["status"].to_string();
        }
        sleep(Duration::from_millis(250)).await;
    }
    bail!("pod {name} is not Running within {limit:?}; status: {last}")
}

/// A pod running `image` with the container `web`.
pub fn pod(name: &str, image: &str, pull_secret: Option<&str>) -> serde_json::Value {
    let mut pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "web", "image": image}]},
    });
    if let Some(secret) = pull_secret {
        pod["spec"]["imagePullSecrets"] = serde_json::json!([{"name": secret}]);
    }
    pod
}
