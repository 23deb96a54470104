//! Init containers through kubectl: the app container starts only after the init container
//! exited 0 (STATUS Init:0/1 meanwhile, then the Initialized condition); a failing init
//! container shows Init:Error (restartPolicy Never) or Init:CrashLoopBackOff (Always).

use anyhow::ensure;
use serde_json::{Value, json};
use skiff_tests::run_bounded;

use crate::support::{LIMIT, Setup, guest, pod, start};

const NODE: &str = "init-node";

/// The crasher example as init container `setup`: exits `code` after `delay_ms`.
fn setup(delay_ms: u32, code: u8) -> anyhow::Result<Value> {
    Ok(json!({"name": "setup", "image": guest("crasher")?, "env": [
        {"name": "DELAY_MS", "value": delay_ms.to_string()},
        {"name": "EXIT_CODE", "value": code.to_string()}]}))
}

fn with_init(init: Value, extra: Value) -> Value {
    let mut spec = json!({"initContainers": [init]});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    spec
}

fn condition(pod: &Value, ty: &str) -> String {
    let conditions = pod["status"]["conditions"].as_array().cloned();
    conditions
        .unwrap_or_default()
        .iter()
        .find(|c| c["type"] == ty)
        .and_then(|c| c["status"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[test]
fn init_containers_run_first_and_their_failures_show() {
    run_bounded("agent_init", LIMIT, async {
        let mut s = start(NODE).await?;
        let web = json!({"name": "web", "image": guest("http-server")?,
            "ports": [{"containerPort": 8080}]});
        s.apply(&pod(
            "init-ok",
            NODE,
            web,
            with_init(setup(3000, 0)?, json!({})),
        ))
        .await?;
        let job = json!({"name": "job", "image": guest("job")?});
        let never = with_init(setup(10, 1)?, json!({"restartPolicy": "Never"}));
        s.apply(&pod("init-never", NODE, job.clone(), never))
            .await?;
        s.apply(&pod(
            "init-loop",
            NODE,
            job,
            with_init(setup(10, 1)?, json!({})),
        ))
        .await?;

        runs_first(&mut s).await?;
        failures_show(&mut s).await?;
        Ok(())
    });
}

/// init-ok: Init:0/1 while its init container runs, then Running once it exited 0.
async fn runs_first(s: &mut Setup) -> anyhow::Result<()> {
    // While the init container runs, the app waits.
    let row = s.wait_status("init-ok", "Init:0/1").await?;
    ensure!(row[1] == "0/1", "{row:?}");
    let p = s.pod("init-ok").await?.unwrap_or_default();
    ensure!(condition(&p, "Initialized") == "False", "{}", p["status"]);
    let app = &p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"];
    ensure!(app == "PodInitializing", "app state: {}", p["status"]);

    s.wait_row("init-ok", "1/1 Running", |r| {
        r[1] == "1/1" && r[2] == "Running"
    })
    .await?;
    let p = s.pod("init-ok").await?.unwrap_or_default();
    ensure!(condition(&p, "Initialized") == "True", "{}", p["status"]);
    let init = &p["status"]["initContainerStatuses"][0]["state"]["terminated"];
    ensure!(
        init["reason"] == "Completed" && init["exitCode"] == 0,
        "{init}"
    );
    let finished = init["finishedAt"].as_str().unwrap_or("~");
    let started = p["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
        .as_str()
        .unwrap_or_default();
    ensure!(
        finished <= started,
        "init finished {finished}, app started {started}"
    );
    let log = s.kubectl.ok(&["logs", "init-ok", "-c", "setup"]).await?;
    ensure!(log.contains("crasher: will exit in 3000 ms"), "{log}");
    Ok(())
}

/// init-never fails; init-loop backs off.
async fn failures_show(s: &mut Setup) -> anyhow::Result<()> {
    // A failed init container with restartPolicy Never fails the pod; the app never runs.
    s.wait_status("init-never", "Init:Error").await?;
    let p = s.pod("init-never").await?.unwrap_or_default();
    ensure!(p["status"]["phase"] == "Failed", "{}", p["status"]);
    let app = &p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"];
    ensure!(app == "PodInitializing", "app state: {}", p["status"]);

    // With Always it is retried on the crash-loop back-off.
    s.wait_row("init-loop", "Init:CrashLoopBackOff", |r| {
        r[2] == "Init:CrashLoopBackOff" && r[3].parse::<u32>().is_ok_and(|n| n >= 2)
    })
    .await?;
    let p = s.pod("init-loop").await?.unwrap_or_default();
    ensure!(p["status"]["phase"] == "Pending", "{}", p["status"]);
    let describe = s.describe("init-loop").await?;
    ensure!(
        describe.contains("Back-off restarting failed container setup"),
        "{describe}"
    );
    Ok(())
}
