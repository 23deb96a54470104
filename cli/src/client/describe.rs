//! `skiff describe TYPE NAME`: a readable summary of one object followed by its events.
//! Pods, Deployments, Nodes and Services get their own layout (`describe_kinds`); any other
//! kind prints its name, labels and annotations, then the rest of the object as YAML.

use clap::Args;
use serde_json::Value;

use super::describe_kinds;
use super::discovery;
use super::failure::Failure;
use super::printer;
use super::session::Session;

#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// The resource type (pods, deploy, nodes, svc, ...).
    pub resource: String,
    /// The object's name.
    pub name: String,
}

pub async fn run(session: &Session, args: &DescribeArgs) -> Result<(), Failure> {
    let resource = discovery::resolve(session, &args.resource).await?;
    let object = session
        .get_json(&resource.object_path(&session.namespace, &args.name))
        .await?;
    let mut out = Lines::default();
    match resource.kind.as_str() {
        "Pod" => describe_kinds::pod(&mut out, &object),
        "Deployment" => describe_kinds::deployment(&mut out, &object),
        "Node" => describe_kinds::node(&mut out, &object),
        "Service" => describe_kinds::service(&mut out, &object),
        _ => fallback(&mut out, &object)?,
    }
    let events = events_of(session, &object).await?;
    out.events(&events);
    print!("{}", out.text);
    Ok(())
}

/// Name, namespace, labels, annotations, then every other top-level field as YAML.
fn fallback(out: &mut Lines, object: &Value) -> Result<(), Failure> {
    out.header(object);
    let mut rest = object.clone();
    if let Some(map) = rest.as_object_mut() {
        for key in ["metadata", "apiVersion", "kind"] {
            map.remove(key);
        }
    }
    if rest.as_object().is_some_and(|m| !m.is_empty()) {
        let yaml = printer::object_text(&rest, printer::Output::Yaml)?;
        out.text.push_str(&yaml);
    }
    Ok(())
}

/// The events whose involvedObject is `object`, oldest first.
async fn events_of(session: &Session, object: &Value) -> Result<Vec<Value>, Failure> {
    let metadata = &object["metadata"];
    let path = match metadata["namespace"].as_str() {
        Some(ns) => format!("/api/v1/namespaces/{ns}/events"),
        None => "/api/v1/events".to_owned(),
    };
    let list = session.get_json(&path).await?;
    let uid = &metadata["uid"];
    let mut events: Vec<Value> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            let involved = &e["involvedObject"];
            involved["uid"] == *uid
                || (involved["uid"].is_null()
                    && involved["name"] == metadata["name"]
                    && involved["kind"] == object["kind"])
        })
        .cloned()
        .collect();
    events.sort_by_key(|e| last_seen(e).unwrap_or_default());
    Ok(events)
}

/// When an event last happened.
pub fn last_seen(event: &Value) -> Option<String> {
    ["lastTimestamp", "eventTime", "firstTimestamp"]
        .iter()
        .find_map(|k| event[*k].as_str().map(str::to_owned))
}

/// The text being built, with kubectl describe's `Label:  value` layout.
#[derive(Default)]
pub struct Lines {
    pub text: String,
}

impl Lines {
    /// `Name:   value` at indent level `depth`.
    pub fn field(&mut self, depth: usize, name: &str, value: impl std::fmt::Display) {
        let label = format!("{}{name}:", "  ".repeat(depth));
        let value = value.to_string();
        if value.is_empty() {
            self.text.push_str(&format!("{label}\n"));
        } else {
            self.text.push_str(&format!("{label:<21} {value}\n"));
        }
    }

    /// A bare line.
    pub fn line(&mut self, depth: usize, text: &str) {
        self.text
            .push_str(&format!("{}{text}\n", "  ".repeat(depth)));
    }

    /// Name, Namespace, Labels and Annotations.
    pub fn header(&mut self, object: &Value) {
        let metadata = &object["metadata"];
        self.field(0, "Name", metadata["name"].as_str().unwrap_or_default());
        if let Some(ns) = metadata["namespace"].as_str() {
            self.field(0, "Namespace", ns);
        }
        self.map(0, "Labels", &metadata["labels"]);
        self.map(0, "Annotations", &metadata["annotations"]);
    }

    /// A map as `key=value` lines under `name` (`<none>` when empty).
    pub fn map(&mut self, depth: usize, name: &str, map: &Value) {
        let pairs: Vec<String> = map
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        match pairs.split_first() {
            None => self.field(depth, name, "<none>"),
            Some((first, rest)) => {
                self.field(depth, name, first);
                for pair in rest {
                    self.text.push_str(&format!("{:<22}{pair}\n", ""));
                }
            }
        }
    }

    /// kubectl's Events table.
    pub fn events(&mut self, events: &[Value]) {
        if events.is_empty() {
            self.field(0, "Events", "<none>");
            return;
        }
        self.line(0, "Events:");
        let mut grid = vec![
            ["Type", "Reason", "Age", "From", "Message"]
                .map(String::from)
                .to_vec(),
        ];
        let dashes = ["----", "------", "----", "----", "-------"]
            .map(String::from)
            .to_vec();
        grid.push(dashes);
        for event in events {
            let source = event["source"]["component"]
                .as_str()
                .or_else(|| event["reportingComponent"].as_str())
                .unwrap_or_default();
            grid.push(vec![
                event["type"].as_str().unwrap_or_default().to_owned(),
                event["reason"].as_str().unwrap_or_default().to_owned(),
                event_age(event),
                source.to_owned(),
                event["message"]
                    .as_str()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            ]);
        }
        for row in super::printer::columns_text(&grid).lines() {
            self.line(1, row);
        }
    }
}

/// `5s`, or `(x3 over 2m)` style when an event repeated.
fn event_age(event: &Value) -> String {
    let age = |key: &str| event[key].as_str().and_then(age_of);
    let last = last_seen(event)
        .as_deref()
        .and_then(age_of)
        .unwrap_or_else(|| "<unknown>".into());
    match (event["count"].as_i64(), age("firstTimestamp")) {
        (Some(count), Some(first)) if count > 1 => format!("{last} (x{count} over {first})"),
        _ => last,
    }
}

/// How long ago an RFC 3339 time was, as kubectl prints ages (`45s`, `3m12s`, `5h`, `2d`).
pub fn age_of(timestamp: &str) -> Option<String> {
    let then: jiff::Timestamp = timestamp.parse().ok()?;
    let seconds = jiff::Timestamp::now().duration_since(then).as_secs().max(0);
    Some(human_duration(seconds))
}

pub fn human_duration(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 8 * 3600 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_kubectl_ages() {
        let cases = [
            (5, "5s"),
            (119, "119s"),
            (192, "3m12s"),
            (900, "15m"),
            (4 * 3600 + 120, "4h2m"),
            (10 * 3600, "10h"),
            (3 * 86400, "3d"),
        ];
        for (seconds, want) in cases {
            assert_eq!(super::human_duration(seconds), want);
        }
    }
}
