//! `skiff top pods|nodes [NAME] [-l SEL] [-A]`: CPU and memory from the metrics API
//! (`metrics.k8s.io/v1beta1`, which skiff's API server serves from the agents' samples),
//! in kubectl top's columns.

use clap::{Args, ValueEnum};
use serde_json::Value;

use super::failure::Failure;
use super::get::encode;
use super::printer::columns_text;
use super::quantity::{mebibytes, millicores, parse};
use super::session::Session;

const METRICS: &str = "/apis/metrics.k8s.io/v1beta1";

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopKind {
    #[value(alias = "pod", alias = "po")]
    Pods,
    #[value(alias = "node", alias = "no")]
    Nodes,
}

#[derive(Args, Debug)]
pub struct TopArgs {
    /// pods or nodes.
    #[arg(value_enum)]
    pub kind: TopKind,
    /// One object's name.
    pub name: Option<String>,
    /// Only objects whose labels match this selector.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Pods of every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
}

pub async fn run(session: &Session, args: &TopArgs) -> Result<(), Failure> {
    let query = args
        .selector
        .as_deref()
        .map(|s| format!("?labelSelector={}", encode(s)))
        .unwrap_or_default();
    let scope = match (args.kind, args.all_namespaces) {
        (TopKind::Nodes, _) => "nodes".to_owned(),
        (TopKind::Pods, true) => "pods".to_owned(),
        (TopKind::Pods, false) => format!("namespaces/{}/pods", session.namespace),
    };
    let path = match &args.name {
        Some(name) => format!("{METRICS}/{scope}/{name}"),
        None => format!("{METRICS}/{scope}{query}"),
    };
    let answer = session.get_json(&path).await?;
    let items = match answer["items"].as_array() {
        Some(items) => items.clone(),
        None => vec![answer],
    };
    if items.is_empty() {
        eprintln!("error: Metrics not available yet");
        return Err(Failure::Reported);
    }
    let grid = match args.kind {
        TopKind::Pods => pod_rows(&items, args.all_namespaces),
        TopKind::Nodes => node_rows(session, &items).await?,
    };
    print!("{}", columns_text(&grid));
    Ok(())
}

/// A pod's CPU (cores) and memory (bytes), summed over its containers.
pub fn pod_usage(metrics: &Value) -> (f64, f64) {
    let containers = metrics["containers"].as_array().into_iter().flatten();
    containers.fold((0.0, 0.0), |(cpu, mem), c| {
        let usage = &c["usage"];
        (
            cpu + usage["cpu"].as_str().and_then(parse).unwrap_or(0.0),
            mem + usage["memory"].as_str().and_then(parse).unwrap_or(0.0),
        )
    })
}

fn pod_rows(items: &[Value], with_namespace: bool) -> Vec<Vec<String>> {
    let mut header = vec![
        "NAME".to_owned(),
        "CPU(cores)".into(),
        "MEMORY(bytes)".into(),
    ];
    if with_namespace {
        header.insert(0, "NAMESPACE".into());
    }
    let mut grid = vec![header];
    for item in items {
        let (cpu, mem) = pod_usage(item);
        let mut row = vec![
            item["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            millicores(cpu),
            mebibytes(mem),
        ];
        if with_namespace {
            row.insert(
                0,
                item["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        grid.push(row);
    }
    grid
}

async fn node_rows(session: &Session, items: &[Value]) -> Result<Vec<Vec<String>>, Failure> {
    let nodes = session.get_json("/api/v1/nodes").await?;
    let mut grid = vec![
        ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
            .map(String::from)
            .to_vec(),
    ];
    for item in items {
        let name = item["metadata"]["name"].as_str().unwrap_or_default();
        let usage = &item["usage"];
        let cpu = usage["cpu"].as_str().and_then(parse).unwrap_or(0.0);
        let mem = usage["memory"].as_str().and_then(parse).unwrap_or(0.0);
        let node = nodes["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["metadata"]["name"] == name);
        let allocatable = |key: &str| {
            node.and_then(|n| n["status"]["allocatable"][key].as_str())
                .and_then(parse)
        };
        grid.push(vec![
            name.to_owned(),
            millicores(cpu),
            percent(cpu, allocatable("cpu")),
            mebibytes(mem),
            percent(mem, allocatable("memory")),
        ]);
    }
    Ok(grid)
}

/// `12%` of an allocatable amount, `<unknown>` without one.
pub fn percent(used: f64, of: Option<f64>) -> String {
    match of {
        Some(total) if total > 0.0 => format!("{}%", (used * 100.0 / total).round() as i64),
        _ => "<unknown>".into(),
    }
}
