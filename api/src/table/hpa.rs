//! The horizontal pod autoscaler table (kubectl's `printHorizontalPodAutoscaler`), with the
//! TARGETS column written like `formatHPAMetrics` ("cpu: 40%/80%", "<unknown>/500m").

use serde_json::{Value, json};

use super::age::since;
use super::fields::{at, int_at, list_at, name, str_at};
use super::{AGE, Column, NAME, Row, col};

pub(super) const COLUMNS: &[Column] = &[
    NAME,
    col(
        "Reference",
        "string",
        "Reference to scaled resource; horizontal pod autoscaler will learn the current resource consumption and will set the desired number of pods by using its Scale subresource.",
    ),
    col(
        "Targets",
        "string",
        "The specifications for which to use to calculate the desired replica count.",
    ),
    col(
        "MinPods",
        "string",
        "The lower limit for the number of pods that can be set by the autoscaler.",
    ),
    col(
        "MaxPods",
        "string",
        "The upper limit for the number of pods that can be set by the autoscaler.",
    ),
    col(
        "Replicas",
        "string",
        "Current number of replicas of pods managed by this autoscaler.",
    ),
    AGE,
];

/// A quantity as it was written (quantities are strings in JSON), or a number's text.
fn quantity(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => "<unknown>".into(),
    }
}

/// The TARGETS text of one metric spec, given its status (if reported).
fn metric_text(spec: &Value, status: Option<&Value>) -> String {
    let field = match str_at(spec, &["type"]) {
        "External" => "external",
        "Pods" => "pods",
        "Object" => "object",
        "Resource" => "resource",
        "ContainerResource" => "containerResource",
        _ => return "<unknown type>".into(),
    };
    let source = &spec[field];
    let target = &source["target"];
    let current = status
        .map(|s| &s[field]["current"])
        .filter(|c| !c.is_null());
    let current_of = |key: &str| {
        current
            .map(|c| &c[key])
            .filter(|v| !v.is_null())
            .map_or_else(|| "<unknown>".to_owned(), quantity)
    };
    match field {
        "pods" => format!(
            "{}/{}",
            current_of("averageValue"),
            quantity(&target["averageValue"])
        ),
        "external" | "object" => {
            if target["averageValue"].is_null() {
                format!("{}/{}", current_of("value"), quantity(&target["value"]))
            } else {
                format!(
                    "{}/{} (avg)",
                    current_of("averageValue"),
                    quantity(&target["averageValue"])
                )
            }
        }
        _ => {
            let resource = str_at(source, &["name"]);
            if target["averageValue"].is_null() {
                let percent = |v: &Value| v.as_i64().map(|p| format!("{p}%"));
                let now = current
                    .and_then(|c| percent(&c["averageUtilization"]))
                    .unwrap_or_else(|| "<unknown>".into());
                let want =
                    percent(&target["averageUtilization"]).unwrap_or_else(|| "<auto>".into());
                format!("{resource}: {now}/{want}")
            } else {
                format!(
                    "{resource}: {}/{}",
                    current_of("averageValue"),
                    quantity(&target["averageValue"])
                )
            }
        }
    }
}

/// `formatHPAMetrics`: the first two metrics, then `+ N more...`; `<none>` without metrics.
fn targets(hpa: &Value) -> String {
    let specs = list_at(hpa, &["spec", "metrics"]);
    if specs.is_empty() {
        return "<none>".into();
    }
    let statuses = list_at(hpa, &["status", "currentMetrics"]);
    let texts: Vec<String> = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| metric_text(spec, statuses.get(i)))
        .collect();
    const MAX: usize = 2;
    let shown = texts[..texts.len().min(MAX)].join(", ");
    if texts.len() > MAX {
        format!("{shown} + {} more...", texts.len() - MAX)
    } else {
        shown
    }
}

pub(super) fn row(hpa: &Value, now: i64) -> Row {
    let spec = &hpa["spec"];
    let reference = format!(
        "{}/{}",
        str_at(spec, &["scaleTargetRef", "kind"]),
        str_at(spec, &["scaleTargetRef", "name"])
    );
    let min_pods = at(spec, &["minReplicas"])
        .as_i64()
        .map_or_else(|| "<unset>".to_owned(), |n| n.to_string());
    vec![
        json!(name(hpa)),
        json!(reference),
        json!(targets(hpa)),
        json!(min_pods),
        json!(int_at(spec, &["maxReplicas"])),
        json!(int_at(hpa, &["status", "currentReplicas"])),
        json!(since(&hpa["metadata"]["creationTimestamp"], now)),
    ]
    .into()
}
