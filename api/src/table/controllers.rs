//! Tables of daemon sets, replication controllers, controller revisions and pod disruption
//! budgets (kubectl's `printDaemonSet`, `printReplicationController`,
//! `printControllerRevision`, `printPodDisruptionBudget`).

use serde_json::{Value, json};

use super::age::age_cell;
use super::fields::{container_cells, format_labels, format_selector, int_at, name, str_at};
use super::{AGE, CONTAINERS, Column, IMAGES, NAME, Row, col, wide};

const SELECTOR: Column = wide(
    "Selector",
    "string",
    "Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
);

pub(super) const DAEMON_SET: &[Column] = &[
    NAME,
    col(
        "Desired",
        "integer",
        "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).",
    ),
    col(
        "Current",
        "integer",
        "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
    ),
    col(
        "Ready",
        "integer",
        "Total number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.",
    ),
    col(
        "Up-to-date",
        "integer",
        "The total number of nodes that are running updated daemon pod",
    ),
    col(
        "Available",
        "integer",
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
    ),
    col(
        "Node Selector",
        "string",
        "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

pub(super) fn daemon_set(obj: &Value, now: i64) -> Row {
    let status = &obj["status"];
    let pod_spec = &obj["spec"]["template"]["spec"];
    let (names, images) = container_cells(pod_spec);
    vec![
        json!(name(obj)),
        json!(int_at(status, &["desiredNumberScheduled"])),
        json!(int_at(status, &["currentNumberScheduled"])),
        json!(int_at(status, &["numberReady"])),
        json!(int_at(status, &["updatedNumberScheduled"])),
        json!(int_at(status, &["numberAvailable"])),
        json!(format_labels(&pod_spec["nodeSelector"])),
        age_cell(obj, now),
        json!(names),
        json!(images),
        json!(format_selector(&obj["spec"]["selector"])),
    ]
    .into()
}

pub(super) const REPLICATION_CONTROLLER: &[Column] = &[
    NAME,
    col(
        "Desired",
        "integer",
        "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1.",
    ),
    col(
        "Current",
        "integer",
        "Replicas is the most recently observed number of replicas.",
    ),
    col(
        "Ready",
        "integer",
        "The number of ready replicas for this replication controller.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

pub(super) fn replication_controller(obj: &Value, now: i64) -> Row {
    let status = &obj["status"];
    let (names, images) = container_cells(&obj["spec"]["template"]["spec"]);
    vec![
        json!(name(obj)),
        json!(obj["spec"]["replicas"].as_i64().unwrap_or(1)),
        json!(int_at(status, &["replicas"])),
        json!(int_at(status, &["readyReplicas"])),
        age_cell(obj, now),
        json!(names),
        json!(images),
        json!(format_labels(&obj["spec"]["selector"])),
    ]
    .into()
}

pub(super) const CONTROLLER_REVISION: &[Column] = &[
    NAME,
    col("Controller", "string", "Controller of the object"),
    col(
        "Revision",
        "string",
        "Revision indicates the revision of the state represented by Data.",
    ),
    AGE,
];

pub(super) fn controller_revision(obj: &Value, now: i64) -> Row {
    vec![
        json!(name(obj)),
        json!(controller_name(obj)),
        json!(int_at(obj, &["revision"])),
        age_cell(obj, now),
    ]
    .into()
}

/// The controlling owner as `kind.group/name` (`daemonset.apps/fluent`), or `<none>`.
fn controller_name(obj: &Value) -> String {
    let owners = obj["metadata"]["ownerReferences"].as_array();
    let Some(owner) = owners
        .into_iter()
        .flatten()
        .find(|o| o["controller"].as_bool() == Some(true))
    else {
        return "<none>".into();
    };
    let kind = str_at(owner, &["kind"]).to_lowercase();
    let group = match str_at(owner, &["apiVersion"]).split_once('/') {
        Some((group, _)) => format!(".{group}"),
        None => String::new(),
    };
    format!("{kind}{group}/{}", str_at(owner, &["name"]))
}

pub(super) const POD_DISRUPTION_BUDGET: &[Column] = &[
    NAME,
    col(
        "Min Available",
        "string",
        "The minimum number of pods that must be available.",
    ),
    col(
        "Max Unavailable",
        "string",
        "The maximum number of pods that may be unavailable.",
    ),
    col(
        "Allowed Disruptions",
        "integer",
        "Calculated number of pods that may be disrupted at this time.",
    ),
    AGE,
];

pub(super) fn pod_disruption_budget(obj: &Value, now: i64) -> Row {
    let spec = &obj["spec"];
    vec![
        json!(name(obj)),
        json!(int_or_string(&spec["minAvailable"])),
        json!(int_or_string(&spec["maxUnavailable"])),
        json!(int_at(&obj["status"], &["disruptionsAllowed"])),
        age_cell(obj, now),
    ]
    .into()
}

/// An IntOrString as Go's `IntOrString.String()` prints it; `N/A` when unset.
fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => "N/A".into(),
    }
}
