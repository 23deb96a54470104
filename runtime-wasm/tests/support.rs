//! Shared test harness: built guests, a runtime over a [`LocalNetwork`], pod helpers.

use anyhow::{Context, Result, bail};
use skiff_runtime_wasm::examples::{self, Examples};
use skiff_runtime_wasm::network::{LocalNetwork, PodNetwork, PodRef};
use skiff_runtime_wasm::spec::{ContainerSpec, PodSpec, TerminationReason};
use skiff_runtime_wasm::{Runtime, RuntimeConfig};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Every test body runs under this bound.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(120);

pub fn examples() -> &'static Examples {
    examples::build().expect("building examples-wasm (rustup target add wasm32-wasip2)")
}

/// A data dir shared by the tests of this binary, so each guest compiles once.
pub fn shared_data_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("tempdir"))
        .path()
}

/// A runtime plus its network and a private scratch dir.
pub struct Harness {
    pub rt: Runtime,
    pub net: Arc<LocalNetwork>,
    pub dir: tempfile::TempDir,
}

impl Harness {
    pub fn new() -> Result<Self> {
        Self::with_config(RuntimeConfig::new(shared_data_dir()))
    }

    pub fn with_config(cfg: RuntimeConfig) -> Result<Self> {
        let net = Arc::new(LocalNetwork::new());
        let rt = Runtime::new(cfg, net.clone())?;
        Ok(Harness {
            rt,
            net,
            dir: tempfile::tempdir()?,
        })
    }

    /// Creates pod `id` at `ip` in namespace `default`.
    pub fn pod(&self, id: &str, ip: &str) -> Result<IpAddr> {
        let ip: IpAddr = ip.parse()?;
        self.rt.create_pod(PodSpec {
            id: id.into(),
            ip,
            name: id.into(),
            namespace: "default".into(),
            log_dir: self.dir.path().join("logs").join(id),
        })?;
        Ok(ip)
    }

    /// Creates and starts a container.
    pub async fn run(&self, pod: &str, spec: ContainerSpec) -> Result<()> {
        let name = spec.name.clone();
        self.rt.create_container(pod, spec).await?;
        self.rt.start_container(pod, &name).await?;
        Ok(())
    }

    /// Waits for a container to end, within `bound`.
    pub async fn wait(&self, pod: &str, name: &str, bound: Duration) -> Result<TerminationReason> {
        tokio::time::timeout(bound, self.rt.wait_container(pod, name))
            .await
            .with_context(|| format!("{pod}/{name} did not terminate within {bound:?}"))?
            .map_err(Into::into)
    }

    pub fn log(&self, pod: &str, name: &str) -> Result<String> {
        let bytes = self.rt.logs(pod, name)?.read_all()?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Polls the log until it contains `needle`.
    pub async fn wait_log(
        &self,
        pod: &str,
        name: &str,
        needle: &str,
        bound: Duration,
    ) -> Result<String> {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            let log = self.log(pod, name)?;
            if log.contains(needle) {
                return Ok(log);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("{pod}/{name} log lacks {needle:?} after {bound:?}:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The real loopback address behind a virtual one, as the node proxy would see it.
    pub fn real(&self, virt: SocketAddr) -> Result<SocketAddr> {
        let probe = PodRef {
            ip: "10.244.255.254".parse()?,
            namespace: "default".into(),
        };
        Ok(self.net.connect(&probe, virt)?)
    }

    /// Waits until something listens at the virtual `virt`; returns the real address.
    pub async fn wait_listening(&self, virt: SocketAddr, bound: Duration) -> Result<SocketAddr> {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            if let Ok(real) = self.real(virt) {
                return Ok(real);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("nothing listens at {virt} after {bound:?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn shutdown(self) {
        self.rt.shutdown(Duration::ZERO).await;
    }
}

/// A container of the guest `guest` with env pairs.
pub fn guest(name: &str, guest: &str, env: &[(&str, &str)]) -> ContainerSpec {
    let mut spec = ContainerSpec::new(name, examples().path(guest).display().to_string());
    for (k, v) in env {
        spec.env.insert((*k).into(), (*v).into());
    }
    spec
}

/// Runs a test body under [`TEST_TIMEOUT`].
pub async fn bounded<F: Future<Output = Result<()>>>(body: F) -> Result<()> {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .context("test timed out")?
}

#[allow(dead_code, reason = "used by some test modules only")]
pub fn scratch(h: &Harness, name: &str) -> PathBuf {
    let p = h.dir.path().join(name);
    std::fs::create_dir_all(&p).expect("scratch dir");
    p
}
