//! `skiff nodes`: the fleet at a glance. Each node's readiness, roles, version, how many
//! pods it runs and, when the metrics API has samples, its CPU and memory use.

use clap::Args;
use serde_json::Value;

use super::failure::Failure;
use super::printer::columns_text;
use super::quantity::{mebibytes, millicores, parse};
use super::session::Session;
use super::top::percent;

#[derive(Args, Debug)]
pub struct NodesArgs {}

pub async fn run(session: &Session, _args: &NodesArgs) -> Result<(), Failure> {
    let nodes = session.get_json("/api/v1/nodes").await?;
    let pods = session.get_json("/api/v1/pods").await?;
    // Metrics are optional: a fleet without samples yet still lists its nodes.
    let metrics = session
        .get_json("/apis/metrics.k8s.io/v1beta1/nodes")
        .await
        .unwrap_or(Value::Null);
    let empty = Vec::new();
    let mut grid = vec![
        [
            "NAME", "STATUS", "ROLES", "VERSION", "PODS", "CPU", "MEMORY",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for node in nodes["items"].as_array().unwrap_or(&empty) {
        let name = node["metadata"]["name"].as_str().unwrap_or_default();
        let running = pods["items"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .filter(|p| p["spec"]["nodeName"] == name && !finished(p))
            .count();
        let capacity = node["status"]["allocatable"]["pods"]
            .as_str()
            .unwrap_or("?");
        let usage = metrics["items"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .find(|m| m["metadata"]["name"] == name)
            .map(|m| &m["usage"]);
        let (cpu, memory) = usage_columns(node, usage);
        grid.push(vec![
            name.to_owned(),
            readiness(node),
            roles(node),
            node["status"]["nodeInfo"]["kubeletVersion"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
            format!("{running}/{capacity}"),
            cpu,
            memory,
        ]);
    }
    print!("{}", columns_text(&grid));
    Ok(())
}

fn finished(pod: &Value) -> bool {
    matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    )
}

/// `Ready`, `NotReady`, `Unknown`, with `,SchedulingDisabled` for a cordoned node.
pub fn readiness(node: &Value) -> String {
    let ready = node["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready")
        .and_then(|c| c["status"].as_str());
    let mut word = match ready {
        Some("True") => "Ready".to_owned(),
        Some("False") => "NotReady".to_owned(),
        _ => "Unknown".to_owned(),
    };
    if node["spec"]["unschedulable"] == true {
        word.push_str(",SchedulingDisabled");
    }
    word
}

/// The `node-role.kubernetes.io/<role>` labels, as kubectl's ROLES column.
pub fn roles(node: &Value) -> String {
    let roles: Vec<&str> = node["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
        .collect();
    if roles.is_empty() {
        "<none>".into()
    } else {
        roles.join(",")
    }
}

fn usage_columns(node: &Value, usage: Option<&Value>) -> (String, String) {
    let Some(usage) = usage else {
        return ("<unknown>".into(), "<unknown>".into());
    };
    let allocatable = |k: &str| node["status"]["allocatable"][k].as_str().and_then(parse);
    let cpu = usage["cpu"].as_str().and_then(parse).unwrap_or(0.0);
    let mem = usage["memory"].as_str().and_then(parse).unwrap_or(0.0);
    (
        format!("{} ({})", millicores(cpu), percent(cpu, allocatable("cpu"))),
        format!(
            "{} ({})",
            mebibytes(mem),
            percent(mem, allocatable("memory"))
        ),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn readiness_and_roles() {
        let node = json!({"metadata": {"labels": {"node-role.kubernetes.io/control-plane": ""}},
                          "spec": {"unschedulable": true},
                          "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(super::readiness(&node), "Ready,SchedulingDisabled");
        assert_eq!(super::roles(&node), "control-plane");
        assert_eq!(super::readiness(&json!({})), "Unknown");
        assert_eq!(super::roles(&json!({})), "<none>");
    }
}
