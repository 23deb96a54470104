//! The pod paths: one server and two agents (`net-a` on 127.0.0.2, `net-b` on 127.0.0.3), the
//! `net-bench` server pod on `net-a` behind the NodePort Service `netbench` (its ClusterIP for
//! the Service path, its NodePorts for the host's clients), and client pods
//! made for each measurement, started together at one instant (`START_MS`), their JSON lines
//! read from their logs.

use super::{
    ECHO_PORT, Measured, Path, SINK_PORTS, Sample, Targets, UDP_PORT, rtt_percentiles,
    throughput_mbps,
};
use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};
use skiff_tests::fleet::{AGENT_FAST, example, poll};
use skiff_tests::{Agent, Fleet};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The agents' addresses: `net-a` (the server pod's node), `net-b`.
const NODE_IPS: [&str; 2] = ["127.0.0.2", "127.0.0.3"];
/// How long before their common start the client pods are created.
const LEAD: Duration = Duration::from_secs(3);
/// How long a pod may take to start and finish beyond its window.
const SLACK: Duration = Duration::from_secs(60);

/// The cluster the pod paths run on.
pub struct Cluster {
    fleet: Fleet,
    server_ip: String,
    runs: usize,
}

impl Cluster {
    /// Starts the server, both agents and the server pod with its Service.
    pub async fn start() -> anyhow::Result<Cluster> {
        let mut fleet = Fleet::start(1, &[], &[]).await?;
        let replica = &fleet.cluster.replicas[0];
        let (url, token) = (replica.url(), replica.agent_token()?);
        for (name, ip) in ["net-a", "net-b"].into_iter().zip(NODE_IPS) {
            let mut args = AGENT_FAST.to_vec();
            args.extend(["--server", &url, "--token", &token, "--node-ip", ip]);
            let mut agent = Agent::prepare(name, &args)?;
            agent.spawn()?;
            fleet.agents.push(agent);
        }
        for name in ["net-a", "net-b"] {
            fleet.wait_ready_status(name, "True").await?;
        }
        fleet.apply(&server_pod()?).await?;
        fleet.apply(&service()).await?;
        let ready = [
            "wait",
            "--for=condition=Ready",
            "pod/netbench",
            "--timeout=120s",
        ];
        fleet.kubectl.ok(&ready).await?;
        let ip = fleet
            .kubectl
            .ok(&["get", "pod", "netbench", "-o", "jsonpath={.status.podIP}"])
            .await?;
        let slices = [
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=netbench",
            "-o",
            "jsonpath={.items[*].endpoints[*].addresses}",
        ];
        poll(
            "the server pod in its EndpointSlice",
            Duration::from_secs(60),
            || async { Ok(fleet.kubectl.ok(&slices).await?.contains(ip.trim())) },
        )
        .await?;
        // The agents' watches follow within moments.
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok(Cluster {
            fleet,
            server_ip: ip.trim().to_owned(),
            runs: 0,
        })
    }

    /// Every measurement over `path`, each for `window`.
    pub async fn measure(&mut self, path: Path, window: Duration) -> anyhow::Result<Measured> {
        let (node, host) = match path {
            Path::SameNode => ("net-a", self.server_ip.clone()),
            Path::AcrossNodes => ("net-b", self.server_ip.clone()),
            Path::ServiceVip => ("net-b", "netbench.default".to_owned()),
            Path::Direct | Path::NodePort | Path::NodePortOtherNode => {
                bail!("{} is not a pod path", path.label())
            }
        };
        let to = |port: u16| format!("{host}:{port}");
        let one = self
            .clients(node, &[("stream", to(SINK_PORTS[0]))], window)
            .await?;
        let eight: Vec<_> = SINK_PORTS.iter().map(|p| ("stream", to(*p))).collect();
        let eight = self.clients(node, &eight, window).await?;
        let rtt = self
            .clients(node, &[("rtt", to(ECHO_PORT))], window)
            .await?;
        let udp = self.clients(node, &[("udp", to(UDP_PORT))], window).await?;
        let (p50, p99) = rtt_percentiles(&rtt[0]);
        Ok(Measured {
            one_stream_mbps: throughput_mbps(&one),
            eight_streams_mbps: throughput_mbps(&eight),
            rtt_p50_us: p50,
            rtt_p99_us: p99,
            udp_round_trips_per_s: udp[0].rounds as f64 / udp[0].secs.max(1e-9),
        })
    }

    /// The NodePorts of the server pod's Service on the node of `path` (a NodePort path).
    pub async fn node_port_targets(&self, path: Path) -> anyhow::Result<Targets> {
        let node_ip: IpAddr = match path {
            Path::NodePort => NODE_IPS[0],
            Path::NodePortOtherNode => NODE_IPS[1],
            _ => bail!("{} is not a NodePort path", path.label()),
        }
        .parse()?;
        let jsonpath = r#"jsonpath={range .spec.ports[*]}{.name}={.nodePort}{" "}{end}"#;
        let out = self
            .fleet
            .kubectl
            .ok(&["get", "service", "netbench", "-o", jsonpath])
            .await?;
        let ports: HashMap<&str, u16> = out
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
            .collect();
        let at = |name: &str| -> anyhow::Result<SocketAddr> {
            let port = ports
                .get(name)
                .with_context(|| format!("no NodePort {name}: {out}"))?;
            Ok(SocketAddr::new(node_ip, *port))
        };
        let sinks = (0..SINK_PORTS.len())
            .map(|i| at(&format!("sink{i}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let echo = at("echo")?;
        poll("the NodePorts listening", SLACK, || async {
            Ok(tokio::net::TcpStream::connect(echo).await.is_ok())
        })
        .await?;
        Ok(Targets {
            echo,
            udp: at("udp")?,
            sinks,
        })
    }

    /// The fleet, for the scale-to-zero measurement.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// Runs one client pod per `(mode, target)` on `node`, together; their samples.
    async fn clients(
        &mut self,
        node: &str,
        runs: &[(&str, String)],
        window: Duration,
    ) -> anyhow::Result<Vec<Sample>> {
        self.runs += 1;
        let run = self.runs.to_string();
        let start = SystemTime::now().duration_since(UNIX_EPOCH)? + LEAD;
        let mut items = Vec::new();
        for (i, (mode, target)) in runs.iter().enumerate() {
            let env = [
                ("ROLE", "client"),
                ("MODE", mode),
                ("TARGET", target.as_str()),
            ];
            let mut env: Vec<Value> = env
                .iter()
                .map(|(k, v)| json!({"name": k, "value": v}))
                .collect();
            env.push(json!({"name": "SECONDS", "value": window.as_secs().to_string()}));
            env.push(json!({"name": "START_MS", "value": start.as_millis().to_string()}));
            items.push(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("nb-{run}-{i}"), "labels": {"netbench-run": run}},
                "spec": {"nodeName": node, "restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                         "containers": [{"name": "client", "image": example("net-bench")?, "env": env}]}}));
        }
        let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
        self.fleet.apply(&list).await?;
        let selector = format!("netbench-run={run}");
        let phases = [
            "get",
            "pods",
            "-l",
            &selector,
            "-o",
            "jsonpath={.items[*].status.phase}",
        ];
        let kubectl = &self.fleet.kubectl;
        poll(
            "the client pods finished",
            LEAD + window + SLACK,
            || async {
                let out = kubectl.ok(&phases).await?;
                let done = out
                    .split_whitespace()
                    .filter(|p| matches!(*p, "Succeeded" | "Failed"))
                    .count();
                Ok(done == runs.len())
            },
        )
        .await?;
        let mut samples = Vec::new();
        for i in 0..runs.len() {
            let name = format!("nb-{run}-{i}");
            let log = kubectl.ok(&["logs", &name, "-c", "client"]).await?;
            let line = log.lines().rev().find(|l| l.starts_with('{'));
            let line = line.with_context(|| format!("client {name} printed no result:\n{log}"))?;
            samples.push(Sample::parse(line)?);
        }
        kubectl
            .ok(&["delete", "pods", "-l", &selector, "--wait=false"])
            .await?;
        ensure!(samples.len() == runs.len(), "missing samples");
        Ok(samples)
    }
}

/// The server pod: echo, UDP echo and 8 sinks, one container each.
fn server_pod() -> anyhow::Result<Value> {
    let image = example("net-bench")?;
    let container = |name: String, role: &str, port: u16| {
        json!({"name": name, "image": image, "env": [
            {"name": "ROLE", "value": role}, {"name": "PORT", "value": port.to_string()}]})
    };
    let mut containers = vec![
        container("echo".into(), "echo", ECHO_PORT),
        container("udp".into(), "udp-echo", UDP_PORT),
    ];
    for (i, port) in SINK_PORTS.iter().enumerate() {
        containers.push(container(format!("sink{i}"), "sink", *port));
    }
    Ok(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "netbench", "labels": {"app": "netbench"}},
        "spec": {"nodeName": "net-a", "terminationGracePeriodSeconds": 1, "containers": containers}}))
}

/// The NodePort Service in front of the server pod, every port.
fn service() -> Value {
    let mut ports = vec![
        json!({"name": "echo", "port": ECHO_PORT, "protocol": "TCP"}),
        json!({"name": "udp", "port": UDP_PORT, "protocol": "UDP"}),
    ];
    for (i, port) in SINK_PORTS.iter().enumerate() {
        ports.push(json!({"name": format!("sink{i}"), "port": port, "protocol": "TCP"}));
    }
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "netbench"},
           "spec": {"type": "NodePort", "selector": {"app": "netbench"}, "ports": ports}})
}
