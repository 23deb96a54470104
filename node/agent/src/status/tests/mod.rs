//! Snapshots to Pod statuses, checked through the api crate's pod table printer (the
//! STATUS column kubectl shows) and field by field.

use super::*;
use serde_json::{Value, json};
use skiff_api::table::{IncludeObject, table};
use std::time::UNIX_EPOCH;

/// 2024-05-01T12:00:00Z plus `secs`.
fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_714_564_800 + secs)
}

fn pod(policy: &str, inits: usize) -> Pod {
    let init: Vec<Value> = (0..inits)
        .map(|i| json!({"name": format!("init{i}"), "image": "/w/init.wasm"}))
        .collect();
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "shop", "uid": "u-1", "creationTimestamp": "2024-05-01T11:00:00Z"},
        "spec": {"restartPolicy": policy, "initContainers": init,
                 "containers": [{"name": "app", "image": "ghcr.io/acme/app:v1"}]},
    }))
    .unwrap()
}

fn app(state: State) -> ContainerFacts {
    let mut c = ContainerFacts::new("app", "ghcr.io/acme/app:v1", Waiting::ContainerCreating);
    c.state = state;
    c.image_digest = Some("sha256:abc".into());
    c
}

fn ended(reason: TerminationReason) -> Termination {
    Termination {
        reason,
        started_at: Some(at(1)),
        finished_at: at(2),
    }
}

fn exited(code: i32) -> Termination {
    ended(TerminationReason::Exited { code })
}

fn waiting(w: Waiting) -> State {
    State::Waiting(w)
}

/// (phase, STATUS column) of `pod` with `snap`.
fn summary(pod: &Pod, snap: &PodSnapshot) -> (String, String, Value) {
    let mut p = pod.clone();
    p.status = Some(pod_status(pod, snap, None, at(10)));
    let obj = serde_json::to_value(&p).unwrap();
    let info = skiff_api::resources::find("", "v1", "pods").unwrap();
    let t = table(
        info,
        std::slice::from_ref(&obj),
        IncludeObject::None,
        1_714_564_810,
        Value::Null,
    );
    let phase = obj["status"]["phase"].as_str().unwrap().to_owned();
    (
        phase,
        t["rows"][0]["cells"][2].as_str().unwrap().to_owned(),
        obj,
    )
}

fn snap(inits: Vec<ContainerFacts>, app: ContainerFacts) -> PodSnapshot {
    PodSnapshot {
        pod_ip: Some("10.244.1.7".parse().unwrap()),
        host_ip: Some("192.168.1.20".parse().unwrap()),
        start_time: Some(at(0)),
        init_containers: inits,
        containers: vec![app],
        evicted: None,
    }
}

/// The facts of an init container in `state`.
fn init(state: State) -> ContainerFacts {
    let mut c = ContainerFacts::new("init0", "/w/init.wasm", Waiting::ContainerCreating);
    c.state = state;
    c
}

/// An app container that failed and waits to restart.
fn crash_looping(delay_secs: u64) -> ContainerFacts {
    let delay = Duration::from_secs(delay_secs);
    let mut c = app(waiting(Waiting::CrashLoopBackOff { delay }));
    c.last_termination = Some(exited(1));
    c.restart_count = 2;
    c
}

#[test]
fn status_column_matches_kubectl() {
    let running = State::Running { started_at: at(3) };
    let mut ready = app(running.clone());
    (ready.ready, ready.started) = (true, true);
    let msg = || "pulling x: no such host".to_owned();
    let mut init_crash = init(waiting(Waiting::CrashLoopBackOff {
        delay: Duration::from_secs(10),
    }));
    init_crash.last_termination = Some(exited(2));
    let pending = || app(waiting(Waiting::PodInitializing));
    let done = |code| State::Terminated(exited(code));
    let oom = State::Terminated(ended(TerminationReason::OutOfMemory));
    // (restartPolicy, init containers, snapshot, phase, STATUS column)
    #[rustfmt::skip]
    let table: Vec<(&str, usize, PodSnapshot, &str, &str)> = vec![
        ("Always", 0, snap(vec![], ready.clone()), "Running", "Running"),
        ("Always", 0, snap(vec![], app(running.clone())), "Running", "Running"),
        ("Never", 0, snap(vec![], app(done(0))), "Succeeded", "Completed"),
        ("OnFailure", 0, snap(vec![], app(done(0))), "Succeeded", "Completed"),
        ("Never", 0, snap(vec![], app(done(3))), "Failed", "Error"),
        ("Never", 0, snap(vec![], app(oom)), "Failed", "OOMKilled"),
        ("Always", 0, snap(vec![], crash_looping(20)), "Running", "CrashLoopBackOff"),
        ("OnFailure", 0, snap(vec![], crash_looping(20)), "Running", "CrashLoopBackOff"),
        ("Always", 0, snap(vec![], app(waiting(Waiting::ContainerCreating))), "Pending", "ContainerCreating"),
        ("Always", 0, snap(vec![], app(waiting(Waiting::ErrImagePull { message: msg() }))), "Pending", "ErrImagePull"),
        ("Always", 0, snap(vec![], app(waiting(Waiting::ImagePullBackOff { message: msg() }))), "Pending", "ImagePullBackOff"),
        ("Always", 0, snap(vec![], app(waiting(Waiting::CreateContainerError { message: msg() }))), "Pending", "CreateContainerError"),
        ("Always", 0, snap(vec![], app(waiting(Waiting::CreateContainerConfigError { message: msg() }))), "Pending", "CreateContainerConfigError"),
        ("Always", 1, snap(vec![init(running.clone())], pending()), "Pending", "Init:0/1"),
        ("Always", 2, snap(vec![init(done(0)), init(running)], pending()), "Pending", "Init:1/2"),
        ("Always", 1, snap(vec![init_crash], pending()), "Pending", "Init:CrashLoopBackOff"),
        ("Never", 1, snap(vec![init(done(1))], pending()), "Failed", "Init:Error"),
        ("Always", 1, snap(vec![init(done(0))], ready), "Running", "Running"),
    ];
    for (i, (policy, inits, snapshot, phase, column)) in table.into_iter().enumerate() {
        let (got_phase, got_column, _) = summary(&pod(policy, inits), &snapshot);
        assert_eq!(
            (got_phase.as_str(), got_column.as_str()),
            (phase, column),
            "case {i}"
        );
    }
}

mod fields;

#[test]
fn an_evicted_pod_fails_for_good_as_the_kubelet_reports_it() {
    let message = "Usage of EmptyDir volume \"cache\" exceeds the limit \"1Mi\". ";
    let mut evicted = snap(
        vec![],
        app(State::Terminated(ended(TerminationReason::Interrupted))),
    );
    evicted.evicted = Some(message.into());
    for policy in ["Always", "OnFailure", "Never"] {
        // kubectl's STATUS column then shows the killed container's reason, as for the
        // kubelet's evictions.
        let (phase, _, obj) = summary(&pod(policy, 0), &evicted);
        assert_eq!(phase, "Failed", "{policy}");
        assert_eq!(obj["status"]["reason"], "Evicted");
        assert_eq!(obj["status"]["message"], message);
        let conditions = obj["status"]["conditions"].as_array().unwrap();
        let disruption = conditions
            .iter()
            .find(|c| c["type"] == "DisruptionTarget")
            .expect("a DisruptionTarget condition");
        assert_eq!(disruption["status"], "True");
        assert_eq!(disruption["reason"], "TerminationByKubelet");
        assert_eq!(disruption["message"], message);
    }
    let (_, _, running) = summary(
        &pod("Always", 0),
        &snap(vec![], app(State::Running { started_at: at(1) })),
    );
    assert!(running["status"].get("reason").is_none());
    let types: Vec<&str> = running["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["type"].as_str())
        .collect();
    assert!(!types.contains(&"DisruptionTarget"), "{types:?}");
}
