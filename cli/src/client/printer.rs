//! Printing what the server answered: its Table as kubectl prints one (upper-case headers,
//! columns padded by three spaces, `-o wide` adding the priority > 0 columns, a NAMESPACE
//! column first with `-A`), and objects as YAML, JSON or `kind.group/name`.

use serde_json::{Value, json};

use super::discovery::Resource;
use super::failure::Failure;

/// `-o`: how to print objects.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Wide,
    Yaml,
    Json,
    Name,
}

/// Renders a `meta.k8s.io/v1` Table as text lines.
pub fn table(table: &Value, wide: bool, with_namespace: bool) -> String {
    let empty = Vec::new();
    let columns = table["columnDefinitions"].as_array().unwrap_or(&empty);
    let shown: Vec<usize> = (0..columns.len())
        .filter(|i| wide || columns[*i]["priority"].as_i64().unwrap_or(0) == 0)
        .collect();
    let mut grid: Vec<Vec<String>> = Vec::new();
    let mut header: Vec<String> = Vec::new();
    if with_namespace {
        header.push("NAMESPACE".into());
    }
    header.extend(shown.iter().map(|i| {
        columns[*i]["name"]
            .as_str()
            .unwrap_or_default()
            .to_uppercase()
    }));
    grid.push(header);
    for row in table["rows"].as_array().unwrap_or(&empty) {
        let cells = row["cells"].as_array().unwrap_or(&empty);
        let mut line = Vec::new();
        if with_namespace {
            let ns = row["object"]["metadata"]["namespace"].as_str();
            line.push(ns.unwrap_or_default().to_owned());
        }
        line.extend(shown.iter().map(|i| cell(cells.get(*i))));
        grid.push(line);
    }
    columns_text(&grid)
}

/// A table cell as kubectl prints it: strings bare, `<none>` for absent values.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "<none>".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Left-aligned columns separated by three spaces (kubectl's tabwriter padding).
pub fn columns_text(grid: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in grid {
        for (i, text) in row.iter().enumerate() {
            let len = text.chars().count();
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(len),
                None => widths.push(len),
            }
        }
    }
    let mut out = String::new();
    for row in grid {
        let mut line = String::new();
        for (i, text) in row.iter().enumerate() {
            line.push_str(text);
            if i + 1 < row.len() {
                let pad = widths[i] - text.chars().count() + 3;
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Fills in `apiVersion` and `kind`, which list items do not carry.
pub fn with_type(mut object: Value, resource: &Resource) -> Value {
    if let Some(map) = object.as_object_mut() {
        map.entry("apiVersion")
            .or_insert_with(|| json!(resource.api_version()));
        map.entry("kind").or_insert_with(|| json!(resource.kind));
    }
    object
}

/// A `v1 List` of objects, as kubectl prints several objects in YAML or JSON.
pub fn list_of(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}})
}

/// One object (or a List) in `format`.
pub fn object_text(object: &Value, format: Output) -> Result<String, Failure> {
    let text = match format {
        Output::Json => serde_json::to_string_pretty(object).map(|mut s| {
            s.push('\n');
            s
        }),
        _ => {
            return serde_yaml::to_string(object)
                .map_err(|e| Failure::Usage(format!("printing YAML: {e}")));
        }
    };
    text.map_err(|e| Failure::Usage(format!("printing JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_print_like_kubectl() {
        let answer = json!({
            "columnDefinitions": [
                {"name": "Name", "priority": 0}, {"name": "Ready", "priority": 0},
                {"name": "IP", "priority": 1}],
            "rows": [
                {"cells": ["web-1", "1/1", "10.244.0.5"], "object": {"metadata": {"namespace": "default"}}},
                {"cells": ["a", "0/1", null], "object": {"metadata": {"namespace": "kube-system"}}}]
        });
        assert_eq!(
            table(&answer, false, false),
            "NAME    READY\nweb-1   1/1\na       0/1\n"
        );
        assert_eq!(
            table(&answer, true, true),
            "NAMESPACE     NAME    READY   IP\ndefault       web-1   1/1     10.244.0.5\nkube-system   a       0/1     <none>\n"
        );
    }
}
