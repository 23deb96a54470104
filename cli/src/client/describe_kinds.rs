//! The layouts of `skiff describe` for the kinds people describe most: Pods, Deployments,
//! Nodes and Services, with kubectl describe's field names.

use serde_json::Value;

use super::describe::{Lines, age_of};

fn text(value: &Value) -> String {
    match value {
        Value::Null => "<none>".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Type=Status lines of `.status.conditions`.
fn conditions(out: &mut Lines, status: &Value) {
    let Some(list) = status["conditions"].as_array() else {
        return;
    };
    out.line(0, "Conditions:");
    let mut grid = vec![vec!["Type".to_owned(), "Status".into(), "Reason".into()]];
    for c in list {
        grid.push(vec![
            text(&c["type"]),
            text(&c["status"]),
            c["reason"].as_str().unwrap_or("").to_owned(),
        ]);
    }
    for row in super::printer::columns_text(&grid).lines() {
        out.line(1, row);
    }
}

pub fn pod(out: &mut Lines, pod: &Value) {
    let (spec, status) = (&pod["spec"], &pod["status"]);
    out.header(pod);
    out.field(0, "Node", text(&spec["nodeName"]));
    out.field(0, "Start Time", text(&status["startTime"]));
    out.field(0, "Status", text(&status["phase"]));
    out.field(0, "IP", text(&status["podIP"]));
    out.line(0, "Containers:");
    let statuses = status["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for container in spec["containers"].as_array().into_iter().flatten() {
        let name = container["name"].as_str().unwrap_or_default();
        let state = statuses
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or(Value::Null);
        out.line(1, &format!("{name}:"));
        out.field(2, "Image", text(&container["image"]));
        let ports: Vec<String> = container["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                format!(
                    "{}/{}",
                    text(&p["containerPort"]),
                    p["protocol"].as_str().unwrap_or("TCP")
                )
            })
            .collect();
        if !ports.is_empty() {
            out.field(2, "Port", ports.join(", "));
        }
        let (word, detail) = state_of(&state["state"]);
        out.field(2, "State", word);
        if !detail.is_empty() {
            out.field(3, "Reason", detail);
        }
        out.field(2, "Ready", text(&state["ready"]));
        out.field(
            2,
            "Restart Count",
            state["restartCount"].as_i64().unwrap_or(0),
        );
        env(out, 2, container);
    }
    conditions(out, status);
}

/// `Running`/`Waiting`/`Terminated` and the reason, from a container state.
fn state_of(state: &Value) -> (String, String) {
    for word in ["running", "waiting", "terminated"] {
        if state[word].is_object() {
            let mut name = word.to_owned();
            name[..1].make_ascii_uppercase();
            return (
                name,
                state[word]["reason"].as_str().unwrap_or("").to_owned(),
            );
        }
    }
    ("<unknown>".into(), String::new())
}

/// The container's environment, at indent `depth`.
fn env(out: &mut Lines, depth: usize, container: &Value) {
    let Some(vars) = container["env"].as_array() else {
        return;
    };
    out.line(depth, "Environment:");
    for var in vars {
        let value = var["value"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| "<set from a reference>".into());
        out.line(depth + 1, &format!("{}:  {value}", text(&var["name"])));
    }
}

pub fn deployment(out: &mut Lines, deployment: &Value) {
    let (spec, status) = (&deployment["spec"], &deployment["status"]);
    let count = |v: &Value| v.as_i64().unwrap_or(0);
    out.header(deployment);
    out.field(
        0,
        "Created",
        age_of(
            deployment["metadata"]["creationTimestamp"]
                .as_str()
                .unwrap_or_default(),
        )
        .map(|a| format!("{a} ago"))
        .unwrap_or_default(),
    );
    let selector: Vec<String> = spec["selector"]["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", text(v)))
        .collect();
    out.field(0, "Selector", selector.join(","));
    out.field(
        0,
        "Replicas",
        format!(
            "{} desired | {} updated | {} total | {} available | {} unavailable",
            spec["replicas"].as_i64().unwrap_or(1),
            count(&status["updatedReplicas"]),
            count(&status["replicas"]),
            count(&status["availableReplicas"]),
            count(&status["unavailableReplicas"])
        ),
    );
    out.field(0, "StrategyType", text(&spec["strategy"]["type"]));
    out.line(0, "Pod Template:");
    out.map(1, "Labels", &spec["template"]["metadata"]["labels"]);
    out.line(1, "Containers:");
    for container in spec["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
    {
        out.line(2, &format!("{}:", text(&container["name"])));
        out.field(3, "Image", text(&container["image"]));
        env(out, 3, container);
    }
    conditions(out, status);
}

pub fn node(out: &mut Lines, node: &Value) {
    let (spec, status) = (&node["spec"], &node["status"]);
    out.header(node);
    out.field(0, "PodCIDR", text(&spec["podCIDR"]));
    out.line(0, "Addresses:");
    for address in status["addresses"].as_array().into_iter().flatten() {
        out.field(1, &text(&address["type"]), text(&address["address"]));
    }
    for section in ["capacity", "allocatable"] {
        let mut name = section.to_owned();
        name[..1].make_ascii_uppercase();
        out.line(0, &format!("{name}:"));
        for (key, value) in status[section].as_object().into_iter().flatten() {
            out.field(1, key, text(value));
        }
    }
    out.line(0, "System Info:");
    for (key, value) in status["nodeInfo"].as_object().into_iter().flatten() {
        out.field(1, key, text(value));
    }
    conditions(out, status);
}

pub fn service(out: &mut Lines, service: &Value) {
    let spec = &service["spec"];
    out.header(service);
    out.map(0, "Selector", &spec["selector"]);
    out.field(0, "Type", text(&spec["type"]));
    out.field(0, "IP", text(&spec["clusterIP"]));
    for port in spec["ports"].as_array().into_iter().flatten() {
        let name = port["name"].as_str().unwrap_or("<unset>");
        let proto = port["protocol"].as_str().unwrap_or("TCP");
        out.field(
            0,
            "Port",
            format!("{name}  {}/{proto}", text(&port["port"])),
        );
        out.field(
            0,
            "TargetPort",
            format!("{}/{proto}", text(&port["targetPort"])),
        );
        if let Some(node_port) = port["nodePort"].as_i64() {
            out.field(0, "NodePort", format!("{name}  {node_port}/{proto}"));
        }
    }
}
