//! Pods through kubectl: a server Ready through its httpGet readiness probe, a job
//! Completed with exit code 0, a crasher in CrashLoopBackOff with rising restarts, and the
//! events `kubectl describe pod` shows.

use crate::support::{LIMIT, Setup, guest, pod, start};
use serde_json::json;
use skiff_tests::run_bounded;

const NODE: &str = "pods-node";

#[test]
fn a_server_gets_ready_a_job_completes_and_a_crasher_backs_off() {
    run_bounded("pods_run", LIMIT, async {
        let mut s = start(NODE).await?;
        let web = json!({"name": "web", "image": guest("http-server")?,
            "ports": [{"containerPort": 8080}],
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1}});
        s.apply(&pod("web", NODE, web, json!({}))).await?;
        let job = json!({"name": "job", "image": guest("job")?, "env": [{"name": "LIMIT", "value": "1000"}]});
        s.apply(&pod("job", NODE, job, json!({"restartPolicy": "Never"})))
            .await?;
        let crasher = json!({"name": "crash", "image": guest("crasher")?,
            "env": [{"name": "DELAY_MS", "value": "10"}]});
        s.apply(&pod("crasher", NODE, crasher, json!({}))).await?;

        let row = s
            .wait_row("web", "1/1 Running", |r| r[1] == "1/1" && r[2] == "Running")
            .await?;
        anyhow::ensure!(row[3] == "0", "web restarted: {row:?}");
        let web = s.pod("web").await?.unwrap_or_default();
        let ip = web["status"]["podIP"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        anyhow::ensure!(ip.starts_with("10.244.0."), "pod IP {ip:?}");
        anyhow::ensure!(web["status"]["hostIP"] == "127.0.0.1", "{}", web["status"]);
        let ready = web["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        anyhow::ensure!(ready, "no Ready condition: {}", web["status"]);

        check_wide(&s, &ip).await?;
        check_describe(&s, &ip).await?;
        exec_and_attach_are_refused(&s).await?;

        s.wait_status("job", "Completed").await?;
        let describe = s.kubectl.ok(&["describe", "pod", "job"]).await?;
        anyhow::ensure!(describe.contains("Exit Code:    0"), "{describe}");
        // "Pulling" only when the image was fetched; "already present on machine" otherwise.
        anyhow::ensure!(
            describe.contains("Pulling") || describe.contains("already present on machine"),
            "neither a pull nor a present image:\n{describe}"
        );
        for event in ["Pulled", "Created", "Started"] {
            anyhow::ensure!(describe.contains(event), "no {event} event:\n{describe}");
        }

        let first = s
            .wait_row("crasher", "CrashLoopBackOff", |r| {
                r[2] == "CrashLoopBackOff" && r[3] != "0"
            })
            .await?;
        let restarts: u32 = first[3].parse()?;
        anyhow::ensure!(
            first.len() == 7 && first[4].starts_with('(') && first[5] == "ago)",
            "RESTARTS without \"(Ns ago)\": {first:?}"
        );
        s.wait_row("crasher", "more restarts", |r| {
            r[3].parse::<u32>().is_ok_and(|n| n >= restarts + 2)
        })
        .await?;
        let describe = s.kubectl.ok(&["describe", "pod", "crasher"]).await?;
        anyhow::ensure!(
            describe.contains("Back-off restarting failed container crash"),
            "{describe}"
        );

        // Every pod got its own address.
        let ips = s
            .kubectl
            .ok(&["get", "pods", "-o", "jsonpath={.items[*].status.podIP}"])
            .await?;
        let mut list: Vec<&str> = ips.split_whitespace().collect();
        let count = list.len();
        list.sort_unstable();
        list.dedup();
        anyhow::ensure!(count == 3 && list.len() == 3, "pod IPs {ips:?}");
        Ok(())
    });
}

/// `kubectl get pods -o wide` of the Ready server reads as it does on Kubernetes.
async fn check_wide(s: &Setup, ip: &str) -> anyhow::Result<()> {
    let wide = s.kubectl.ok(&["get", "pods", "-o", "wide"]).await?;
    let header: Vec<&str> = wide
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let want = [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED",
        "NODE",
        "READINESS",
        "GATES",
    ];
    anyhow::ensure!(header == want, "header {header:?}");
    let row: Vec<&str> = wide
        .lines()
        .find(|l| l.starts_with("web "))
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    anyhow::ensure!(
        row.len() == 9
            && row[1..4] == ["1/1", "Running", "0"]
            && row[5..] == [ip, NODE, "<none>", "<none>"],
        "web row {row:?} in:\n{wide}"
    );
    Ok(())
}

/// `kubectl describe pod` of the Ready server reads as it does on Kubernetes.
async fn check_describe(s: &Setup, ip: &str) -> anyhow::Result<()> {
    let describe = s.kubectl.ok(&["describe", "pod", "web"]).await?;
    let has_line = |words: &[&str]| {
        describe
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == words)
    };
    let node = format!("{NODE}/127.0.0.1");
    let lines: [&[&str]; 12] = [
        &["Node:", &node],
        &["Status:", "Running"],
        &["IP:", ip],
        &["State:", "Running"],
        &["Ready:", "True"],
        &["Restart", "Count:", "0"],
        &["Initialized", "True"],
        &["Ready", "True"],
        &["ContainersReady", "True"],
        &["PodScheduled", "True"],
        &["QoS", "Class:", "BestEffort"],
        &[
            "Readiness:",
            "http-get",
            "http://:8080/healthz",
            "delay=0s",
            "timeout=1s",
            "period=1s",
            "#success=1",
            "#failure=3",
        ],
    ];
    for words in lines {
        anyhow::ensure!(has_line(words), "no line {words:?} in:\n{describe}");
    }
    anyhow::ensure!(
        describe.contains("Pulling") || describe.contains("already present on machine"),
        "neither a pull nor a present image:\n{describe}"
    );
    for reason in ["Pulled", "Created", "Started"] {
        anyhow::ensure!(
            describe
                .lines()
                .any(|l| l.trim_start().starts_with("Normal") && l.contains(reason)),
            "no {reason} event:\n{describe}"
        );
    }
    Ok(())
}

/// `kubectl exec` and `kubectl attach` on a pod the agent runs get the server's clear refusal.
async fn exec_and_attach_are_refused(s: &Setup) -> anyhow::Result<()> {
    for (args, want) in [
        (
            &["exec", "web", "--", "sh"][..],
            "Wasm containers have no shell",
        ),
        (
            &["attach", "web"][..],
            "Wasm containers have no shell or terminal",
        ),
    ] {
        let err = s.kubectl.fails(args, "").await?;
        anyhow::ensure!(
            err.contains("Error from server (BadRequest)") && err.contains(want),
            "kubectl {args:?}: {err}"
        );
    }
    Ok(())
}
