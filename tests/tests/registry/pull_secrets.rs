//! Debian's `docker-registry` (the CNCF distribution server) on loopback, once open and once
//! behind htpasswd basic auth: ORAS pushes a module to each, and pods on `skiff up` run it,
//! the second only through `imagePullSecrets` (a `kubectl create secret docker-registry`).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use skiff_tests::{Kubectl, Replica, ReplicaOptions, run_bounded};
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep};

use crate::support::{OrasTarget, example, pod, wait_running};

/// A `docker-registry serve` process with its scratch storage; killed on drop.
pub struct DockerRegistry {
    pub addr: SocketAddr,
    _child: Child,
}

impl DockerRegistry {
    /// Starts one on a free loopback port; with `user`, behind htpasswd basic auth.
    pub async fn start(label: &str, user: Option<(&str, &str)>) -> anyhow::Result<DockerRegistry> {
        let dir = skiff_tests::scratch_dir(label)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], skiff_tests::free_port()?));
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            dir.join("data").display()
        );
        if let Some((name, password)) = user {
            let htpasswd = dir.join("htpasswd");
            write_htpasswd(&htpasswd, name, password).await?;
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: skiff-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let file = dir.join("config.yml");
        std::fs::write(&file, config)?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr"))?)
            .kill_on_drop(true)
            .spawn()
            .context("starting docker-registry (scripts/setup.sh installs it)")?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if Instant::now() > deadline {
                bail!("docker-registry did not listen on {addr} within 20 s");
            }
            sleep(Duration::from_millis(100)).await;
        }
        Ok(DockerRegistry {
            addr,
            _child: child,
        })
    }
}

/// An htpasswd line with a bcrypt hash (the only kind distribution accepts).
async fn write_htpasswd(path: &Path, user: &str, password: &str) -> anyhow::Result<()> {
    let output = Command::new("python3")
        .args(["-c", "import bcrypt,sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt()).decode())", password])
        .output()
        .await?;
    anyhow::ensure!(
        output.status.success(),
        "bcrypt: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let hash = String::from_utf8(output.stdout)?;
    std::fs::write(path, format!("{user}:{}\n", hash.trim()))?;
    Ok(())
}

/// The `state.waiting.reason` of a pod's first container (empty if none).
async fn waiting_reason(kubectl: &Kubectl, name: &str) -> anyhow::Result<String> {
    let path = "jsonpath={.status.containerStatuses[0].state.waiting.reason}";
    Ok(kubectl
        .run(&["get", "pod", name, "-o", path], "")
        .await?
        .stdout
        .trim()
        .to_owned())
}

#[test]
fn pods_pull_from_docker_registry_open_and_through_image_pull_secrets() {
    run_bounded("registry-pull-secrets", Duration::from_secs(300), async {
        let module = example("http-server")?;
        let open = DockerRegistry::start("docker-registry-open", None).await?;
        let locked =
            DockerRegistry::start("docker-registry-auth", Some(("alice", "s3cret"))).await?;
        let oras_open = OrasTarget {
            host: open.addr.to_string(),
            ca: None,
            user: String::new(),
            password: String::new(),
        };
        oras_open.push("app:v1", &module).await?;
        let oras_locked = OrasTarget {
            host: locked.addr.to_string(),
            ca: None,
            user: "alice".into(),
            password: "s3cret".into(),
        };
        oras_locked.push("app:v1", &module).await?;

        let up =
            Replica::start(ReplicaOptions::up("registry-secrets").args(["--name", "secrets-node"]))
                .await?;
        let kubectl = Kubectl::for_replica(&up)?;
        let apply = |p: serde_json::Value| {
            let kubectl = &kubectl;
            async move {
                kubectl
                    .ok_stdin(&["apply", "-f", "-"], &p.to_string())
                    .await
            }
        };
        apply(pod("open", &format!("{}/app:v1", open.addr), None)).await?;
        let locked_image = format!("{}/app:v1", locked.addr);
        apply(pod("no-secret", &locked_image, None)).await?;
        kubectl
            .ok(&[
                "create",
                "secret",
                "docker-registry",
                "pullcred",
                &format!("--docker-server={}", locked.addr),
                "--docker-username=alice",
                "--docker-password=s3cret",
            ])
            .await?;
        apply(pod("with-secret", &locked_image, Some("pullcred"))).await?;
        wait_running(&kubectl, "open", Duration::from_secs(120)).await?;
        wait_running(&kubectl, "with-secret", Duration::from_secs(120)).await?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let reason = waiting_reason(&kubectl, "no-secret").await?;
            if reason == "ErrImagePull" || reason == "ImagePullBackOff" {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "the pod without the pull secret is not refused its image (waiting reason {reason:?})"
                );
            }
            sleep(Duration::from_millis(250)).await;
        }
        Ok(())
    });
}
