//! Tests of the tables: the Table envelope as kube-apiserver writes it, column sets, and rows for
//! sample objects as kubectl would print them.

mod controllers;
mod envelope;
mod others;
mod pods;
mod workloads;

use serde_json::{Value, json};

use super::{IncludeObject, parse_rfc3339, table};
use crate::resources;

/// The clock of every test: 2024-05-01T12:00:00Z.
fn now() -> i64 {
    parse_rfc3339("2024-05-01T12:00:00Z").unwrap()
}

/// `seconds` before `now()`, as an RFC 3339 timestamp.
fn ago(seconds: i64) -> String {
    let t = now() - seconds;
    let (days, rem) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // 2024-05-01 is day 19844; the samples stay within April and May 2024.
    let day_of_may = days - 19_844 + 1;
    let (month, day) = if day_of_may >= 1 {
        (5, day_of_may)
    } else {
        (4, 30 + day_of_may)
    };
    format!(
        "2024-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The one row's cells of `obj` in the table of `group`/`plural`.
fn cells(group: &str, plural: &str, obj: &Value) -> Vec<Value> {
    let info = resources::RESOURCES
        .iter()
        .find(|r| r.group == group && r.plural == plural)
        .unwrap();
    let t = table(
        info,
        std::slice::from_ref(obj),
        IncludeObject::Metadata,
        now(),
        Value::Null,
    );
    t["rows"][0]["cells"].as_array().unwrap().clone()
}

/// The column names of a resource's table, with `*` after the wide ones.
fn columns(group: &str, plural: &str) -> Vec<String> {
    let info = resources::RESOURCES
        .iter()
        .find(|r| r.group == group && r.plural == plural)
        .unwrap();
    let t = table(info, &[], IncludeObject::Metadata, now(), Value::Null);
    t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let wide = if c["priority"] == 1 { "*" } else { "" };
            format!("{}{wide}", c["name"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn ago_writes_timestamps() {
    assert_eq!(ago(0), "2024-05-01T12:00:00Z");
    assert_eq!(ago(13 * 3600), "2024-04-30T23:00:00Z");
    assert_eq!(
        parse_rfc3339(&ago(3 * 86_400 + 5)),
        Some(now() - 3 * 86_400 - 5)
    );
}

/// An object named `name`, created 3h2m before `now()`, with the top-level fields of `rest`.
fn obj(name: &str, rest: Value) -> Value {
    let mut o = json!({"metadata": {"name": name, "namespace": "default", "creationTimestamp": ago(3 * 3600 + 120)}});
    for (k, v) in rest.as_object().unwrap() {
        o[k] = v.clone();
    }
    o
}

/// The one row of `o` as a JSON array.
fn row(group: &str, plural: &str, o: &Value) -> Value {
    Value::Array(cells(group, plural, o))
}
