//! Container statuses, conditions and IPs field by field, and kept transition times.

use super::*;

#[test]
fn container_statuses_read_like_the_kubelets() {
    let (_, _, obj) = summary(&pod("Always", 0), &snap(vec![], crash_looping(20)));
    let s = &obj["status"];
    assert_eq!(s["podIP"], "10.244.1.7");
    assert_eq!(s["podIPs"], json!([{"ip": "10.244.1.7"}]));
    assert_eq!(s["hostIP"], "192.168.1.20");
    assert_eq!(s["startTime"], "2024-05-01T12:00:00Z");
    assert_eq!(s["qosClass"], "BestEffort");
    let c = &s["containerStatuses"][0];
    assert_eq!(
        c["state"],
        json!({"waiting": {"reason": "CrashLoopBackOff",
               "message": "back-off 20s restarting failed container=app pod=web_shop(u-1)"}})
    );
    assert_eq!(
        c["lastState"],
        json!({"terminated": {"exitCode": 1, "reason": "Error",
               "startedAt": "2024-05-01T12:00:01Z", "finishedAt": "2024-05-01T12:00:02Z"}})
    );
    assert_eq!(
        (
            c["restartCount"].clone(),
            c["ready"].clone(),
            c["started"].clone()
        ),
        (json!(2), json!(false), json!(false))
    );
    assert_eq!(c["image"], "ghcr.io/acme/app:v1");
    assert_eq!(c["imageID"], "ghcr.io/acme/app@sha256:abc");
    let conds: Vec<(String, String, String)> = s["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap().into(),
                c["status"].as_str().unwrap().into(),
                c["reason"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    let want = [
        ("Initialized", "True", ""),
        ("Ready", "False", "ContainersNotReady"),
        ("ContainersReady", "False", "ContainersNotReady"),
        ("PodScheduled", "True", ""),
    ];
    assert_eq!(conds, want.map(|(a, b, c)| (a.into(), b.into(), c.into())));
    assert_eq!(
        s["conditions"][1]["message"],
        "containers with unready status: [app]"
    );

    let oom = app(State::Terminated(ended(TerminationReason::OutOfMemory)));
    let (_, _, obj) = summary(&pod("Never", 0), &snap(vec![], oom));
    assert_eq!(
        obj["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        137
    );
    assert_eq!(obj["status"]["conditions"][1]["reason"], "PodCompleted");
}

#[test]
fn transition_times_are_kept_while_unchanged() {
    let p = pod("Always", 0);
    let mut c = app(State::Running { started_at: at(3) });
    let first = pod_status(&p, &snap(vec![], c.clone()), None, at(10));
    let same = pod_status(&p, &snap(vec![], c.clone()), Some(&first), at(20));
    c.ready = true;
    let flipped = pod_status(&p, &snap(vec![], c), Some(&same), at(30));
    let times = |s: &PodStatus| -> Vec<String> {
        s.conditions
            .iter()
            .flatten()
            .map(|c| {
                serde_json::to_value(&c.last_transition_time)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let t = |s: u64| format!("2024-05-01T12:00:{s:02}Z");
    assert_eq!(times(&same), times(&first));
    assert_eq!(times(&flipped), [t(10), t(30), t(30), t(10)]);
}
