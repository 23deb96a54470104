//! Tables of the workload controllers' objects: deployments, replica sets, jobs and cron jobs
//! (kubectl's `printDeployment`, `printReplicaSet`, `printJob`, `printCronJob`).

use serde_json::{Value, json};

use super::age::{age_cell, human_duration, parse_rfc3339, since};
use super::fields::{
    container_cells, format_selector, has, int_at, len_at, list_at, name, selector_string, str_at,
};
use super::{AGE, CONTAINERS, Column, IMAGES, NAME, Row, col, wide};

const SELECTOR: Column = wide(
    "Selector",
    "string",
    "A label query over pods that should match the replicas count.",
);

/// `spec.replicas`, which defaulting sets to 1 when omitted.
fn desired(obj: &Value) -> i64 {
    obj["spec"]["replicas"].as_i64().unwrap_or(1)
}

pub(super) const DEPLOYMENT: &[Column] = &[
    NAME,
    col("Ready", "string", "Number of the pod with ready state"),
    col(
        "Up-to-date",
        "string",
        "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
    ),
    col(
        "Available",
        "string",
        "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

pub(super) fn deployment(obj: &Value, now: i64) -> Row {
    let status = &obj["status"];
    let (names, images) = container_cells(&obj["spec"]["template"]["spec"]);
    vec![
        json!(name(obj)),
        json!(format!(
            "{}/{}",
            int_at(status, &["readyReplicas"]),
            desired(obj)
        )),
        json!(int_at(status, &["updatedReplicas"])),
        json!(int_at(status, &["availableReplicas"])),
        age_cell(obj, now),
        json!(names),
        json!(images),
        // printDeployment prints the selector without the "<none>" of FormatLabelSelector.
        json!(selector_string(&obj["spec"]["selector"])),
    ]
    .into()
}

pub(super) const REPLICA_SET: &[Column] = &[
    NAME,
    col(
        "Desired",
        "integer",
        "Replicas is the number of desired pods.",
    ),
    col(
        "Current",
        "integer",
        "Replicas is the most recently observed number of replicas.",
    ),
    col(
        "Ready",
        "integer",
        "The number of ready replicas for this replica set.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

pub(super) fn replica_set(obj: &Value, now: i64) -> Row {
    let status = &obj["status"];
    let (names, images) = container_cells(&obj["spec"]["template"]["spec"]);
    vec![
        json!(name(obj)),
        json!(desired(obj)),
        json!(int_at(status, &["replicas"])),
        json!(int_at(status, &["readyReplicas"])),
        age_cell(obj, now),
        json!(names),
        json!(images),
        json!(format_selector(&obj["spec"]["selector"])),
    ]
    .into()
}

pub(super) const JOB: &[Column] = &[
    NAME,
    col("Status", "string", "Status of the job."),
    col(
        "Completions",
        "string",
        "The number of pods which reached phase Succeeded.",
    ),
    col("Duration", "string", "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

/// kubectl's `hasJobCondition`: the first condition of the type decides.
fn job_condition(obj: &Value, ty: &str) -> bool {
    list_at(obj, &["status", "conditions"])
        .iter()
        .find(|c| str_at(c, &["type"]) == ty)
        .is_some_and(|c| str_at(c, &["status"]) == "True")
}

pub(super) fn job(obj: &Value, now: i64) -> Row {
    let spec = &obj["spec"];
    let status = &obj["status"];
    let succeeded = int_at(status, &["succeeded"]);
    let completions = match spec["completions"].as_i64() {
        Some(c) => format!("{succeeded}/{c}"),
        None => match int_at(spec, &["parallelism"]) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let start = status["startTime"].as_str().and_then(parse_rfc3339);
    let end = status["completionTime"].as_str().and_then(parse_rfc3339);
    let duration = match (start, end) {
        (None, _) => String::new(),
        (Some(s), None) => human_duration(now - s),
        (Some(s), Some(e)) => human_duration(e - s),
    };
    let state = if job_condition(obj, "Complete") {
        "Complete"
    } else if job_condition(obj, "Failed") {
        "Failed"
    } else if has(obj, &["metadata", "deletionTimestamp"]) {
        "Terminating"
    } else if job_condition(obj, "Suspended") {
        "Suspended"
    } else if job_condition(obj, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) = container_cells(&spec["template"]["spec"]);
    vec![
        json!(name(obj)),
        json!(state),
        json!(completions),
        json!(duration),
        age_cell(obj, now),
        json!(names),
        json!(images),
        json!(format_selector(&spec["selector"])),
    ]
    .into()
}

pub(super) const CRON_JOB: &[Column] = &[
    NAME,
    col("Schedule", "string", "The schedule in Cron format."),
    col(
        "Timezone",
        "string",
        "The time zone name for the given schedule.",
    ),
    col(
        "Suspend",
        "boolean",
        "This flag tells the controller to suspend subsequent executions.",
    ),
    col(
        "Active",
        "integer",
        "A list of pointers to currently running jobs.",
    ),
    col(
        "Last Schedule",
        "string",
        "Information when was the last time the job was successfully scheduled.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

pub(super) fn cron_job(obj: &Value, now: i64) -> Row {
    let spec = &obj["spec"];
    let last = &obj["status"]["lastScheduleTime"];
    let last_text = if last.is_null() {
        "<none>".to_owned()
    } else {
        since(last, now)
    };
    let suspend = match spec["suspend"].as_bool() {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let job_spec = &spec["jobTemplate"]["spec"];
    let (names, images) = container_cells(&job_spec["template"]["spec"]);
    vec![
        json!(name(obj)),
        json!(spec["schedule"].as_str().unwrap_or("")),
        json!(spec["timeZone"].as_str().unwrap_or("<none>")),
        json!(suspend),
        json!(len_at(obj, &["status", "active"])),
        json!(last_text),
        age_cell(obj, now),
        json!(names),
        json!(images),
        json!(format_selector(&job_spec["selector"])),
    ]
    .into()
}
