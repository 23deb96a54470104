//! `skiff agent`: one node agent (skiff's kubelet) joined to a cluster.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use skiff_agent::backoff::BackoffPolicy;
use skiff_agent::{Access, AgentOptions};

#[derive(Args, Debug)]
pub struct AgentArgs {
    /// URL of a control-plane replica (e.g. https://127.0.0.1:6443), for joining.
    #[arg(long, requires = "token")]
    server: Option<String>,
    /// The join token: the contents of the server's <data-dir>/agent-token
    /// (K10<ca-sha256>::node:<secret>). Not needed once the data directory holds a credential.
    #[arg(long, env = "SKIFF_AGENT_TOKEN", requires = "server")]
    token: Option<String>,
    /// A node credential made by `skiff token create --node NAME -o FILE` (instead of
    /// --server and --token); the node's name comes from it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["server", "token"])]
    credential: Option<PathBuf>,
    /// The Node's name (default: the host name).
    #[arg(long)]
    name: Option<String>,
    /// Directory for the node credential, pod volumes and logs, and the image and code caches.
    #[arg(long, default_value = "skiff-agent", env = "SKIFF_AGENT_DATA_DIR")]
    data_dir: PathBuf,
    #[command(flatten)]
    tuning: AgentTuning,
}

/// The agent's settings that `skiff agent` and `skiff up` share.
#[derive(Args, Debug, Clone)]
pub struct AgentTuning {
    /// Renew the node Lease every this many seconds (it lasts four times as long).
    #[arg(long, default_value_t = 10)]
    lease_seconds: u64,
    /// Pod IPs come from this CIDR while the Node has no spec.podCIDR.
    #[arg(long, default_value = "10.244.0.0/24")]
    pod_cidr: String,
    /// The address the Node reports (default: the local address towards the server); the pod
    /// network's tunnels from other nodes arrive on it.
    #[arg(long)]
    node_ip: Option<std::net::IpAddr>,
    /// The port of the pod network's tunnel listener on --node-ip (0: any free port; either
    /// way it is published on the Node as the annotation skiff.io/overlay-port).
    #[arg(long, default_value_t = 0)]
    overlay_port: u16,
    /// Test setting: the first crash-loop back-off in milliseconds (Kubernetes: 10000);
    /// it doubles up to 30x and resets after a clean run of 60x.
    #[arg(long, hide_short_help = true)]
    crash_backoff_base_ms: Option<u64>,
    /// Test setting: the first image-pull back-off in milliseconds (Kubernetes: 10000).
    #[arg(long, hide_short_help = true)]
    pull_backoff_base_ms: Option<u64>,
    /// Test setting: how soon a missing ConfigMap or Secret is looked up again, in ms.
    #[arg(long, hide_short_help = true, default_value_t = 2000)]
    refs_retry_ms: u64,
    /// Sample pods' CPU and memory (kubectl top, metrics.k8s.io) every this many seconds;
    /// CPU is the average over the last period.
    #[arg(long, default_value_t = 10)]
    metrics_seconds: u64,
    /// Run guests with wasmtime's pooling allocator, this many instance slots reserved up
    /// front (for thousands of pods on one node; default: on-demand allocation).
    #[arg(long, value_name = "SLOTS")]
    pooling_instances: Option<u32>,
    /// The pod capacity the Node reports to the scheduler (the kubelet's `--max-pods`).
    #[arg(long, default_value_t = 110)]
    max_pods: u32,
    /// Pod events posted per second at most; 0: no limit (the kubelet's --event-qps). Events
    /// past the limit wait; past 4,096 waiting ones, new ones are dropped.
    #[arg(long, default_value_t = 50, value_name = "N")]
    event_qps: u32,
    /// Events posted at once before --event-qps applies (the kubelet's --event-burst).
    #[arg(long, default_value_t = 100, value_name = "N")]
    event_burst: u32,
    /// A container's log file is rotated when it reaches this size (a quantity: 10Mi, 500Ki,
    /// 1G; the kubelet's containerLogMaxSize).
    #[arg(long, default_value = "10Mi", value_name = "QUANTITY")]
    container_log_max_size: String,
    /// Log files kept per container, the current one included (at least 2; the kubelet's
    /// containerLogMaxFiles, whose default is 5: skiff keeps 2 on an edge device's disk).
    #[arg(long, default_value_t = 2, value_name = "N")]
    container_log_max_files: usize,
    /// Where Secret, ConfigMap, projected and downwardAPI volumes (and emptyDir of medium
    /// Memory) are kept, one directory per pod (default: under /dev/shm when it is a tmpfs of
    /// at least 1 GiB, else under the data directory). The agent removes the pod-UID-named
    /// directories in it that belong to no pod of this node.
    #[arg(long, value_name = "DIR")]
    volumes_dir: Option<PathBuf>,
}

impl AgentTuning {
    /// The agent's options for `name` with its data in `data_dir`.
    pub fn options(
        &self,
        data_dir: &std::path::Path,
        name: &str,
        access: Option<Access>,
    ) -> anyhow::Result<AgentOptions> {
        let mut options = AgentOptions::new(data_dir, name, access);
        anyhow::ensure!(self.lease_seconds > 0, "--lease-seconds must be at least 1");
        options.lease_period = Duration::from_secs(self.lease_seconds);
        options.default_pod_cidr = self.pod_cidr.clone();
        options.node_ip = self.node_ip;
        options.overlay_port = self.overlay_port;
        options.volumes_dir = self.volumes_dir.clone();
        options.refs_retry = Duration::from_millis(self.refs_retry_ms.max(100));
        anyhow::ensure!(
            self.metrics_seconds > 0,
            "--metrics-seconds must be at least 1"
        );
        options.metrics_period = Duration::from_secs(self.metrics_seconds);
        options.pooling_instances = self.pooling_instances;
        options.max_pods = self.max_pods;
        options.event_rate = skiff_agent::pods::event_rate::EventRate {
            qps: self.event_qps,
            burst: self.event_burst,
        };
        options.container_logs = self.container_logs()?;
        if let Some(ms) = self.crash_backoff_base_ms {
            options.crash_backoff = BackoffPolicy::scaled(Duration::from_millis(ms.max(1)));
            options.error_hold = Duration::from_millis(ms.clamp(1, 1000));
        }
        if let Some(ms) = self.pull_backoff_base_ms {
            options.pull_backoff = BackoffPolicy::scaled(Duration::from_millis(ms.max(1)));
        }
        Ok(options)
    }
}

impl AgentTuning {
    /// The rotation settings, checked as the kubelet checks them.
    fn container_logs(&self) -> anyhow::Result<skiff_agent::ContainerLogConfig> {
        let size = skiff_agent::translate::parse_milli(&self.container_log_max_size)
            .map(|milli| milli / 1000)
            .filter(|bytes| *bytes >= 1024)
            .with_context(|| {
                format!(
                    "--container-log-max-size {:?}: want a size of at least 1Ki, like 10Mi",
                    self.container_log_max_size
                )
            })?;
        anyhow::ensure!(
            self.container_log_max_files >= 2,
            "--container-log-max-files must be at least 2 (the current file and one rotated)"
        );
        Ok(skiff_agent::ContainerLogConfig {
            max_file_bytes: u64::try_from(size).unwrap_or(u64::MAX),
            max_rotated: self.container_log_max_files - 1,
            ..skiff_agent::ContainerLogConfig::default()
        })
    }
}

pub async fn run(args: AgentArgs) -> anyhow::Result<()> {
    let shutdown = crate::signals::shutdown_token().context("installing signal handlers")?;
    let handed = args
        .credential
        .as_deref()
        .map(read_credential)
        .transpose()?;
    let name = match (&handed, args.name) {
        (Some(credential), _) => credential.node_name.clone(),
        (None, Some(name)) => name,
        (None, None) => skiff_agent::host::hostname(),
    };
    let access = match (handed, args.server, args.token) {
        (Some(credential), _, _) => Some(Access::Credential(credential)),
        (None, Some(server), Some(token)) => Some(Access::Join { server, token }),
        _ => None,
    };
    let options = args.tuning.options(&args.data_dir, &name, access)?;
    println!(
        "skiff agent: node {name}, data directory {}",
        args.data_dir.display()
    );
    skiff_agent::run(options, shutdown).await?;
    println!("skiff agent: stopped");
    Ok(())
}

/// A credential file written by `skiff token create --node`.
fn read_credential(path: &std::path::Path) -> anyhow::Result<skiff_agent::credential::Credential> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a node credential", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        tuning: AgentTuning,
    }

    #[test]
    fn volumes_dir_flag_reaches_the_agent_options() -> anyhow::Result<()> {
        let options = |args: &[&str]| -> anyhow::Result<Option<PathBuf>> {
            let mut argv = vec!["agent"];
            argv.extend(args);
            let flags = Flags::try_parse_from(argv)?;
            let options = flags.tuning.options(std::path::Path::new("d"), "n", None)?;
            Ok(options.volumes_dir)
        };
        assert_eq!(options(&[])?, None);
        let given = options(&["--volumes-dir", "/run/skiff-volumes"])?;
        assert_eq!(given, Some(PathBuf::from("/run/skiff-volumes")));
        Ok(())
    }

    #[test]
    fn container_log_rotation_flags() {
        let parse = |args: &[&str]| {
            let mut argv = vec!["agent"];
            argv.extend(args);
            Flags::try_parse_from(argv)
                .map_err(|e| e.to_string())
                .and_then(|f| f.tuning.container_logs().map_err(|e| e.to_string()))
                .map(|c| (c.max_file_bytes, c.max_rotated))
        };
        assert_eq!(parse(&[]), Ok((10 << 20, 1)));
        let small = [
            "--container-log-max-size",
            "2Ki",
            "--container-log-max-files",
            "5",
        ];
        assert_eq!(parse(&small), Ok((2048, 4)));
        for bad in [
            [
                "--container-log-max-size",
                "10",
                "--container-log-max-files",
                "2",
            ],
            [
                "--container-log-max-size",
                "lots",
                "--container-log-max-files",
                "2",
            ],
            [
                "--container-log-max-size",
                "1Mi",
                "--container-log-max-files",
                "1",
            ],
        ] {
            assert!(parse(&bad).is_err(), "{bad:?} accepted");
        }
    }
}
