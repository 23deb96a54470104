//! Probes through kubectl: failing liveness probes (httpGet to a port nothing listens on,
//! tcpSocket to another) restart their containers with Unhealthy and Killing events, and an
//! exec probe, which Wasm cannot run, gets an event that says so while the pod runs.

use anyhow::ensure;
use serde_json::{Value, json};
use skiff_tests::run_bounded;

use crate::support::{LIMIT, Setup, guest, pod, start};

const NODE: &str = "probes-node";

/// The http-server example (port 8080) with one probe.
fn server(name: &str, probe: &str, action: Value) -> anyhow::Result<Value> {
    let mut probe_spec = json!({"periodSeconds": 1, "failureThreshold": 2});
    if let (Some(p), Some(a)) = (probe_spec.as_object_mut(), action.as_object()) {
        p.extend(a.clone());
    }
    let mut c = json!({"name": name, "image": guest("http-server")?,
        "ports": [{"containerPort": 8080}]});
    c[probe] = probe_spec;
    Ok(c)
}

#[test]
fn failing_liveness_probes_restart_containers_and_exec_probes_are_reported() {
    run_bounded("agent_probes", LIMIT, async {
        let mut s = start(NODE).await?;
        let probes = [
            (
                "live-http",
                json!({"httpGet": {"path": "/healthz", "port": 9999}}),
            ),
            ("live-tcp", json!({"tcpSocket": {"port": 9998}})),
            (
                "live-exec",
                json!({"exec": {"command": ["cat", "/tmp/healthy"]}}),
            ),
        ];
        for (name, action) in probes {
            let quick = json!({"terminationGracePeriodSeconds": 1});
            let web = server("web", "livenessProbe", action)?;
            s.apply(&pod(name, NODE, web, quick)).await?;
        }
        liveness_restarts(&mut s).await?;
        // The exec probe is not run: the pod runs, and says why.
        let row = s
            .wait_row("live-exec", "1/1 Running", |r| {
                r[1] == "1/1" && r[2] == "Running"
            })
            .await?;
        ensure!(row[3] == "0", "live-exec restarted: {row:?}");
        s.wait_describe(
            "live-exec",
            &[
                "ProbeWarning",
                "the liveness probe uses exec, and Wasm containers have no exec",
            ],
        )
        .await?;
        Ok(())
    });
}

/// live-http and live-tcp restart, and their events say why.
async fn liveness_restarts(s: &mut Setup) -> anyhow::Result<()> {
    let mut ips = Vec::new();
    for name in ["live-http", "live-tcp"] {
        s.wait_row(name, "2 restarts", |r| {
            r[3].parse::<u32>().is_ok_and(|n| n >= 2)
        })
        .await?;
        let pod = s.pod(name).await?.unwrap_or_default();
        let last = &pod["status"]["containerStatuses"][0]["lastState"]["terminated"];
        ensure!(!last.is_null(), "no lastState: {}", pod["status"]);
        let ip = pod["status"]["podIP"].as_str().unwrap_or_default();
        ips.push(ip.to_owned());
    }
    // The kubelet's wording: Go's HTTP client and dialer errors.
    let http = format!(
        "Liveness probe failed: Get \"http://{ip}:9999/healthz\": dial tcp {ip}:9999: \
         connect: connection refused",
        ip = ips[0]
    );
    let killing = "Container web failed liveness probe, will be restarted";
    s.wait_describe("live-http", &[&http, killing]).await?;
    let tcp = format!(
        "Liveness probe failed: dial tcp {}:9998: connect: connection refused",
        ips[1]
    );
    let describe = s.wait_describe("live-tcp", &[&tcp]).await?;
    // Repeated events count on the first, as kubectl shows a series: "(x2 over 3s)".
    let killing = describe.lines().find(|l| l.contains("Killing"));
    ensure!(
        killing.is_some_and(|l| l.contains(" (x") && l.contains(" over ")),
        "Killing is not counted:\n{describe}"
    );
    let events = s.kubectl.ok(&["get", "events"]).await?;
    for pod in ["live-http", "live-tcp"] {
        for reason in ["Unhealthy", "Killing"] {
            let row = events
                .lines()
                .any(|l| l.contains(&format!("pod/{pod}")) && l.contains(reason));
            ensure!(
                row,
                "no {reason} event of {pod} in kubectl get events:\n{events}"
            );
        }
    }
    Ok(())
}
