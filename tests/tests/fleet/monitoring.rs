//! Monitoring (issue 19): a real Prometheus scrapes one server and two agents with the
//! repository's sample configuration (deploy/prometheus.yml, its addresses and files
//! filled in) and a ServiceAccount token made from deploy/prometheus-rbac.yaml. The nodes
//! are listed from the API into its file of targets and scraped through the API server's
//! node proxy; PromQL over Prometheus' HTTP API then sees every target up, the running pod
//! count, request rates by verb and resource, per-pod CPU and memory, and log file sizes.
//! Then `logs -l` over the three pods (`logs_selector`), and Events on core/v1 and
//! events.k8s.io/v1 and their TTL (`events`). The server and the agents run with `--log-format json`: every line they write to stderr
//! is one JSON object with a timestamp, a level and a target.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, ensure};
use skiff_tests::fleet::poll;
use skiff_tests::{Fleet, run_bounded, scratch_dir};

use crate::events;
use crate::logs_selector::{self, PODS};
use crate::prometheus::Prometheus;
use crate::support::{LIMIT, running_and_ready, web_pod};

/// Prometheus scrapes every second here; a few scrapes make a rate.
const SCRAPES: Duration = Duration::from_secs(60);

/// The repository's `deploy/` directory.
fn deploy(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(file)
}

#[test]
fn prometheus_scrapes_the_server_and_both_agents() {
    run_bounded("monitoring", LIMIT, async {
        let json = ["--log-format", "json"];
        let mut server = json.to_vec();
        server.extend(events::SERVER_FLAGS);
        let fleet = Fleet::start_with(1, &server, &json, &["mon-a", "mon-b"]).await?;
        let nodes = ["mon-a", "mon-b", "mon-a"];
        for (pod, node) in PODS.iter().zip(nodes) {
            fleet.apply(&web_pod(pod, node)?).await?;
        }
        for pod in PODS {
            poll(&format!("{pod} Running and Ready"), SCRAPES, || async {
                Ok(running_and_ready(&fleet.get_json(&["pod", pod]).await?))
            })
            .await?;
        }
        let rbac = deploy("prometheus-rbac.yaml");
        fleet
            .kubectl
            .ok(&["apply", "-f", &rbac.display().to_string()])
            .await?;
        let token = fleet
            .kubectl
            .ok(&["-n", "monitoring", "create", "token", "prometheus"])
            .await?;

        let dir = scratch_dir("prometheus")?;
        let replica = &fleet.cluster.replicas[0];
        let token_file = dir.join("token");
        std::fs::write(&token_file, token.trim())?;
        let ca = replica.data_dir.join("pki/ca.crt");
        let sample = std::fs::read_to_string(deploy("prometheus.yml"))?;
        let config = sample
            .replace("127.0.0.1:6443", &replica.addr.to_string())
            .replace(
                "/etc/prometheus/skiff-token",
                &token_file.display().to_string(),
            )
            .replace("/etc/prometheus/skiff-ca.crt", &ca.display().to_string())
            .replace("interval: 15s", "interval: 1s");
        let nodes_file = dir.join("nodes.yml");
        std::fs::write(
            &nodes_file,
            node_targets(&fleet, &replica.addr.to_string()).await?,
        )?;
        let config = config.replace(
            "/etc/prometheus/skiff-nodes.yml",
            &nodes_file.display().to_string(),
        );
        let config_file = dir.join("prometheus.yml");
        std::fs::write(&config_file, config)?;
        let prometheus = Prometheus::start(&config_file, &dir)?;

        let all_up = poll("three targets up", SCRAPES, || async {
            Ok(prometheus.value("count(up == 1)").await? == Some(3.0))
        })
        .await;
        all_up.with_context(|| {
            let log = std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
            format!("prometheus log:\n{}", skiff_tests::fleet::tail(&log))
        })?;
        let targets = prometheus.targets().await;
        ensure!(
            targets.contains("/api/v1/nodes/mon-a/proxy/metrics"),
            "{targets}"
        );

        poll(
            "three running pods: two on one node, one on the other",
            SCRAPES,
            || async {
                let mut by_node: Vec<f64> = prometheus
                    .query("sum by (instance) (kubelet_running_pods{job=\"skiff-nodes\"})")
                    .await?
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect();
                by_node.sort_by(f64::total_cmp);
                let total = prometheus.value("sum(kubelet_running_pods)").await?;
                Ok(by_node == [1.0, 2.0] && total == Some(3.0))
            },
        )
        .await?;
        poll("request rates", SCRAPES, || async {
            let total = prometheus
                .value("sum(rate(apiserver_request_total[10s]))")
                .await?;
            let pods = prometheus
                .query("sum by (verb) (rate(apiserver_request_total{resource=\"nodes\",code=\"200\"}[10s]))")
                .await?;
            let latency = prometheus
                .value("histogram_quantile(0.9, sum by (le) (rate(apiserver_request_duration_seconds_bucket[10s])))")
                .await?;
            Ok(total.is_some_and(|r| r > 0.0) && !pods.is_empty() && latency.is_some())
        })
        .await?;
        poll("per-pod CPU, memory and log sizes", SCRAPES, || async {
            let memory = prometheus
                .value("container_memory_working_set_bytes{pod=\"mon-pod-a\",container=\"web\"}")
                .await?;
            let cpu = prometheus
                .value("container_cpu_usage_seconds_total{pod=\"mon-pod-b\",container=\"web\"}")
                .await?;
            let log = prometheus
                .value("kubelet_container_log_filesystem_used_bytes{pod=\"mon-pod-a\"}")
                .await?;
            let restarts = prometheus
                .value("sum(kube_pod_container_status_restarts_total)")
                .await?;
            let started = prometheus
                .value("sum(kubelet_pod_start_duration_seconds_count)")
                .await?;
            Ok(memory.is_some_and(|m| m > 0.0)
                && cpu.is_some()
                && log.is_some_and(|b| b > 0.0)
                && restarts == Some(0.0)
                && started == Some(3.0))
        })
        .await?;
        logs_selector::check(&fleet).await?;
        events::check(&fleet, PODS[0]).await?;
        let mut stderrs = vec![("server".to_owned(), replica.all_stderr())];
        for agent in &fleet.agents {
            stderrs.push((agent.name.clone(), agent.last_stderr()));
        }
        for (who, stderr) in stderrs {
            every_line_is_a_json_record(&who, &stderr)?;
        }
        Ok(())
    });
}

/// The node list for the `skiff-nodes` job, made with the command the sample's comment
/// gives.
async fn node_targets(fleet: &Fleet, address: &str) -> anyhow::Result<String> {
    let template = format!(
        "{{{{range .items}}}}- targets: [\"{address}\"]\n  labels: {{node: {{{{.metadata.name}}}}}}\n{{{{end}}}}"
    );
    let file = fleet
        .kubectl
        .ok(&["get", "nodes", "-o", &format!("go-template={template}")])
        .await?;
    ensure!(
        file.contains("node: mon-a") && file.contains("node: mon-b"),
        "{file}"
    );
    Ok(file)
}

/// Every line of `stderr` parses as a JSON object with tracing's fields, and there are some.
fn every_line_is_a_json_record(who: &str, stderr: &str) -> anyhow::Result<()> {
    let mut lines = 0;
    for line in stderr.lines() {
        let record: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{who}'s stderr line is not JSON: {line}"))?;
        for field in ["timestamp", "level", "target"] {
            ensure!(record[field].is_string(), "{who}: no {field} in {line}");
        }
        lines += 1;
    }
    ensure!(lines > 0, "{who} wrote no log lines");
    Ok(())
}
