//! `kubectl top pod` and `kubectl top node` through the real kubectl: the API server serves
//! `metrics.k8s.io/v1beta1` from the summary a real `skiff agent` samples (every 2 s here)
//! and serves over its tunnel. A busy loop shows clearly more CPU than an idle server, and a
//! guest holding 64 MiB more memory than both; then the API itself is checked as
//! metrics-server answers (get, list, label selectors, 404, discovery).

use std::collections::HashMap;

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use skiff_tests::run_bounded;

use crate::support::{LIMIT, Setup, WAIT, guest, pod, poll, start};

const NODE: &str = "top-node";

/// `kubectl top pod`'s rows by pod name: (millicores, MiB).
async fn top_pods(s: &Setup, extra: &[&str]) -> anyhow::Result<HashMap<String, (u64, u64)>> {
    let mut args = vec!["top", "pod", "--no-headers"];
    args.extend(extra);
    let out = s.kubectl.run(&args, "").await?;
    ensure!(out.success, "kubectl top pod: {}", out.stderr);
    out.stdout
        .lines()
        .map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            ensure!(cols.len() == 3, "row {line:?}");
            Ok((
                cols[0].to_owned(),
                (millicores(cols[1])?, mebibytes(cols[2])?),
            ))
        })
        .collect()
}

fn millicores(text: &str) -> anyhow::Result<u64> {
    text.strip_suffix('m')
        .with_context(|| format!("CPU {text:?} is not in millicores"))?
        .parse()
        .with_context(|| format!("CPU {text:?}"))
}

fn mebibytes(text: &str) -> anyhow::Result<u64> {
    text.strip_suffix("Mi")
        .with_context(|| format!("memory {text:?} is not in Mi"))?
        .parse()
        .with_context(|| format!("memory {text:?}"))
}

async fn start_pods(s: &mut Setup) -> anyhow::Result<()> {
    let busy = json!({"name": "spin", "image": guest("busy-loop")?,
        "env": [{"name": "HEARTBEAT_SHIFT", "value": "40"}]});
    let idle = json!({"name": "web", "image": guest("http-server")?,
        "ports": [{"containerPort": 8080}]});
    let hog = json!({"name": "hog", "image": guest("memory-hog")?,
        "env": [{"name": "CHUNK_MIB", "value": "8"}, {"name": "MAX_MIB", "value": "64"}],
        "resources": {"limits": {"memory": "128Mi"}}});
    for (name, container) in [("busy", busy), ("idle", idle), ("hog", hog)] {
        let mut object = pod(name, NODE, container, json!({}));
        object["metadata"]["labels"] = json!({"app": name, "suite": "top"});
        s.apply(&object).await?;
    }
    for name in ["busy", "idle", "hog"] {
        s.wait_status(name, "Running").await?;
    }
    Ok(())
}

#[test]
fn kubectl_top_shows_what_the_agent_measured() {
    run_bounded("agent_top", LIMIT, async {
        let mut s = start(NODE).await?;
        start_pods(&mut s).await?;
        // Two samples after the hog holds its memory: every pod is listed with it.
        poll("kubectl top pod lists the three pods", WAIT, || async {
            let now = top_pods(&s, &[]).await?;
            Ok(now.len() == 3 && now.get("hog").is_some_and(|(_, mib)| *mib >= 64))
        })
        .await?;
        let rows = top_pods(&s, &[]).await?;
        ensure!(rows.len() == 3, "{rows:?}");
        let (busy, idle, hog) = (rows["busy"], rows["idle"], rows["hog"]);
        ensure!(
            busy.0 >= 50 && busy.0 > idle.0 + 40 && busy.0 > hog.0 + 40,
            "busy loop's CPU is not clearly the highest: {rows:?}"
        );
        ensure!(hog.1 >= 64 && hog.1 > idle.1 && hog.1 > busy.1, "{rows:?}");

        let only_busy = top_pods(&s, &["-l", "app=busy"]).await?;
        ensure!(
            only_busy.keys().collect::<Vec<_>>() == ["busy"],
            "{only_busy:?}"
        );

        let node = s.kubectl.ok(&["top", "node", "--no-headers"]).await?;
        let cols: Vec<&str> = node.split_whitespace().collect();
        ensure!(cols.first() == Some(&NODE) && cols.len() >= 5, "{node}");
        ensure!(millicores(cols[1])? >= 50, "node CPU: {node}");
        // The node's memory is the agent process's resident set, guests included.
        ensure!(mebibytes(cols[3])? >= 64, "node memory: {node}");
        ensure!(cols[2].ends_with('%') && cols[4].ends_with('%'), "{node}");
        check_metrics_api(&s).await
    });
}

/// The API itself, as metrics-server answers it: get, list, selectors, 404, discovery.
async fn check_metrics_api(s: &Setup) -> anyhow::Result<()> {
    let kubectl = &s.kubectl;
    let raw = |path: String| async move {
        let text = kubectl.ok(&["get", "--raw", &path]).await?;
        anyhow::Ok(serde_json::from_str::<Value>(&text)?)
    };
    let base = "/apis/metrics.k8s.io/v1beta1";
    poll("the hog's PodMetrics", WAIT, || async {
        let out = kubectl
            .run(
                &[
                    "get",
                    "--raw",
                    &format!("{base}/namespaces/default/pods/hog"),
                ],
                "",
            )
            .await?;
        Ok(out.success)
    })
    .await?;
    let hog = raw(format!("{base}/namespaces/default/pods/hog")).await?;
    ensure!(hog["kind"] == "PodMetrics", "{hog}");
    ensure!(hog["metadata"]["labels"]["app"] == "hog", "{hog}");
    ensure!(
        hog["window"].as_str().is_some_and(|w| w.ends_with('s')),
        "{hog}"
    );
    let usage = &hog["containers"][0]["usage"];
    ensure!(hog["containers"][0]["name"] == "hog", "{hog}");
    ensure!(
        usage["cpu"]
            .as_str()
            .is_some_and(|c| c == "0" || c.ends_with('n')),
        "{usage}"
    );
    ensure!(
        usage["memory"]
            .as_str()
            .is_some_and(|m| m.ends_with("Ki") || m.ends_with("Mi")),
        "{usage}"
    );

    let selected = raw(format!(
        "{base}/namespaces/default/pods?labelSelector=app%20in%20(busy,hog)"
    ))
    .await?;
    let mut names: Vec<&str> = selected["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["metadata"]["name"].as_str())
        .collect();
    names.sort_unstable();
    ensure!(selected["kind"] == "PodMetricsList", "{selected}");
    ensure!(names == ["busy", "hog"], "{names:?}");

    let all = raw(format!("{base}/pods")).await?;
    ensure!(
        all["items"].as_array().is_some_and(|i| i.len() == 3),
        "{all}"
    );
    let node = raw(format!("{base}/nodes/{NODE}")).await?;
    ensure!(
        node["kind"] == "NodeMetrics" && node["usage"]["cpu"].is_string(),
        "{node}"
    );

    let missing = kubectl
        .run(
            &[
                "get",
                "--raw",
                &format!("{base}/namespaces/default/pods/nope"),
            ],
            "",
        )
        .await?;
    ensure!(
        !missing.success && missing.stderr.contains("NotFound"),
        "{missing:?}"
    );
    let groups = kubectl.ok(&["api-versions"]).await?;
    ensure!(
        groups.lines().any(|l| l == "metrics.k8s.io/v1beta1"),
        "{groups}"
    );
    Ok(())
}
