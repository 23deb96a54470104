//! The pod table (kubectl's `printPod`): READY as ready/total containers, STATUS from the
//! phase, the init containers and the container states ("Init:0/1", "CrashLoopBackOff",
//! "Completed", "Terminating"), RESTARTS with the time of the last restart ("3 (5m ago)").

use serde_json::{Value, json};

use super::age::{parse_rfc3339, since};
use super::fields::{at, has, int_at, list_at, name, or_none, str_at};
use super::{AGE, Column, NAME, Row, col, wide};

pub(super) const COLUMNS: &[Column] = &[
    NAME,
    col(
        "Ready",
        "string",
        "The aggregate readiness state of this pod for accepting traffic.",
    ),
    col(
        "Status",
        "string",
        "The aggregate status of the containers in this pod.",
    ),
    col(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last \
         container in this pod has restarted.",
    ),
    AGE,
    wide("IP", "string", "IP address allocated to the pod."),
    wide("Node", "string", "The node the pod is bound to."),
    wide(
        "Nominated Node",
        "string",
        "The node the scheduler nominated to run the pod.",
    ),
    wide(
        "Readiness Gates",
        "string",
        "Readiness gates that are true, of all the pod's readiness gates.",
    ),
];

/// Restart counts and the latest restart (Unix seconds) so far.
#[derive(Default, Clone, Copy)]
struct Restarts {
    count: i64,
    last: Option<i64>,
}

impl Restarts {
    /// Counts one container status's restarts and its last termination.
    fn add(&mut self, status: &Value) {
        self.count += int_at(status, &["restartCount"]);
        let finished = str_at(status, &["lastState", "terminated", "finishedAt"]);
        if let Some(t) = parse_rfc3339(finished) {
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }
}

fn condition_true(pod: &Value, ty: &str) -> bool {
    list_at(pod, &["status", "conditions"])
        .iter()
        .find(|c| str_at(c, &["type"]) == ty)
        .is_some_and(|c| str_at(c, &["status"]) == "True")
}

/// "Signal:9" or "ExitCode:1" for a terminated state without a reason.
fn exit_text(terminated: &Value) -> String {
    let signal = int_at(terminated, &["signal"]);
    if signal != 0 {
        format!("Signal:{signal}")
    } else {
        format!("ExitCode:{}", int_at(terminated, &["exitCode"]))
    }
}

/// What the container statuses add up to so far, in kubectl's order of precedence.
struct Summary {
    reason: String,
    ready: usize,
    restarts: Restarts,
    sidecar_restarts: Restarts,
}

pub(super) fn row(pod: &Value, now: i64) -> Row {
    let spec = &pod["spec"];
    let status = &pod["status"];
    let inits = list_at(spec, &["initContainers"]);
    let sidecars = inits
        .iter()
        .filter(|c| str_at(c, &["restartPolicy"]) == "Always")
        .count();
    let total = list_at(spec, &["containers"]).len() + sidecars;
    let phase = str_at(status, &["phase"]);
    let mut summary = Summary {
        reason: initial_reason(status),
        ready: 0,
        restarts: Restarts::default(),
        sidecar_restarts: Restarts::default(),
    };
    let initializing = init_containers(pod, &mut summary);
    if !initializing || condition_true(pod, "Initialized") {
        app_containers(pod, &mut summary);
    }
    let deleting = has(pod, &["metadata", "deletionTimestamp"]);
    if deleting && str_at(status, &["reason"]) == "NodeLost" {
        summary.reason = "Unknown".into();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        summary.reason = "Terminating".into();
    }
    let ip = list_at(status, &["podIPs"])
        .first()
        .map(|p| str_at(p, &["ip"]))
        .unwrap_or_else(|| str_at(status, &["podIP"]));
    Row {
        cells: vec![
            json!(name(pod)),
            json!(format!("{}/{total}", summary.ready)),
            json!(summary.reason),
            json!(restarts_text(summary.restarts, now)),
            json!(since(&pod["metadata"]["creationTimestamp"], now)),
            json!(or_none(ip)),
            json!(or_none(str_at(spec, &["nodeName"]))),
            json!(or_none(str_at(status, &["nominatedNodeName"]))),
            json!(readiness_gates_text(pod)),
        ],
        conditions: completed_conditions(phase),
    }
}

/// The pod's reason, else its phase; a scheduling gate overrides both.
fn initial_reason(status: &Value) -> String {
    let gated = list_at(status, &["conditions"]).iter().any(|c| {
        str_at(c, &["type"]) == "PodScheduled" && str_at(c, &["reason"]) == "SchedulingGated"
    });
    match str_at(status, &["reason"]) {
        _ if gated => "SchedulingGated".into(),
        "" => str_at(status, &["phase"]).to_owned(),
        r => r.to_owned(),
    }
}

/// Walks the init containers in order; true if one still holds the pod ("Init:...").
fn init_containers(pod: &Value, summary: &mut Summary) -> bool {
    let inits = list_at(&pod["spec"], &["initContainers"]);
    let sidecar = |name: &str| {
        inits
            .iter()
            .any(|c| str_at(c, &["name"]) == name && str_at(c, &["restartPolicy"]) == "Always")
    };
    let statuses = list_at(&pod["status"], &["initContainerStatuses"]);
    for (i, cs) in statuses.iter().enumerate() {
        summary.restarts.add(cs);
        let is_sidecar = sidecar(str_at(cs, &["name"]));
        if is_sidecar {
            summary.sidecar_restarts.add(cs);
        }
        let terminated = at(cs, &["state", "terminated"]);
        let waiting_reason = str_at(cs, &["state", "waiting", "reason"]);
        if !terminated.is_null() && int_at(terminated, &["exitCode"]) == 0 {
            continue;
        }
        if is_sidecar && at(cs, &["started"]).as_bool() == Some(true) {
            if at(cs, &["ready"]).as_bool() == Some(true) {
                summary.ready += 1;
            }
            continue;
        }
        summary.reason = if !terminated.is_null() {
            match str_at(terminated, &["reason"]) {
                "" => format!("Init:{}", exit_text(terminated)),
                r => format!("Init:{r}"),
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{i}/{}", inits.len())
        };
        return true;
    }
    false
}

/// The app containers, last first as kubectl reads them: waiting and terminated reasons
/// win, running and ready ones count as ready.
fn app_containers(pod: &Value, summary: &mut Summary) {
    summary.restarts = summary.sidecar_restarts;
    let mut has_running = false;
    for cs in list_at(&pod["status"], &["containerStatuses"]).iter().rev() {
        summary.restarts.add(cs);
        let waiting_reason = str_at(cs, &["state", "waiting", "reason"]);
        let terminated = at(cs, &["state", "terminated"]);
        if !waiting_reason.is_empty() {
            summary.reason = waiting_reason.to_owned();
        } else if !terminated.is_null() {
            summary.reason = match str_at(terminated, &["reason"]) {
                "" => exit_text(terminated),
                r => r.to_owned(),
            };
        } else if at(cs, &["ready"]).as_bool() == Some(true) && has(cs, &["state", "running"]) {
            has_running = true;
            summary.ready += 1;
        }
    }
    if summary.reason == "Completed" && has_running {
        summary.reason = if condition_true(pod, "Ready") {
            "Running".into()
        } else {
            "NotReady".into()
        };
    }
}

/// "3 (5m ago)", or the bare count when nothing restarted.
fn restarts_text(restarts: Restarts, now: i64) -> String {
    match restarts.last {
        Some(last) if restarts.count != 0 => format!(
            "{} ({} ago)",
            restarts.count,
            super::age::human_duration(now - last)
        ),
        _ => restarts.count.to_string(),
    }
}

/// "true/all" readiness gates, or `<none>`.
fn readiness_gates_text(pod: &Value) -> String {
    let gates = list_at(&pod["spec"], &["readinessGates"]);
    if gates.is_empty() {
        return "<none>".to_owned();
    }
    let true_gates = gates
        .iter()
        .filter(|g| condition_true(pod, str_at(g, &["conditionType"])))
        .count();
    format!("{true_gates}/{}", gates.len())
}

/// The row's `Completed` condition for a finished pod (kubectl's printer marks those rows).
fn completed_conditions(phase: &str) -> Option<Value> {
    let (reason, message) = match phase {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return None,
    };
    Some(json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}]))
}
