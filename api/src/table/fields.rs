//! Reading fields of JSON objects leniently (a missing field reads as empty, zero or an empty
//! list, as a Go zero value would), and the label, selector and container formatting the
//! printers share (apimachinery's `labels.FormatLabels` and `metav1.FormatLabelSelector`).

use serde_json::Value;

/// The value at `path` under `v`, or `null`.
pub(super) fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    static NULL: Value = Value::Null;
    path.iter()
        .try_fold(v, |v, key| v.get(key))
        .unwrap_or(&NULL)
}

/// The string at `path`, or `""`.
pub(super) fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).as_str().unwrap_or("")
}

/// The integer at `path`, or 0.
pub(super) fn int_at(v: &Value, path: &[&str]) -> i64 {
    at(v, path).as_i64().unwrap_or(0)
}

/// The list at `path`, or an empty one.
pub(super) fn list_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path).as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// The number of entries of the map (or list) at `path`.
pub(super) fn len_at(v: &Value, path: &[&str]) -> i64 {
    let n = match at(v, path) {
        Value::Object(m) => m.len(),
        Value::Array(a) => a.len(),
        _ => 0,
    };
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Whether the field at `path` is present and not `null` (a Go pointer that is not nil).
pub(super) fn has(v: &Value, path: &[&str]) -> bool {
    !at(v, path).is_null()
}

/// `metadata.name`.
pub(super) fn name(obj: &Value) -> &str {
    str_at(obj, &["metadata", "name"])
}

/// `s`, or `<none>` when it is empty.
pub(super) fn or_none(s: impl Into<String>) -> String {
    let s = s.into();
    if s.is_empty() { "<none>".into() } else { s }
}

/// `labels.FormatLabels`: `a=1,b=2` in key order, `<none>` for no labels.
pub(super) fn format_labels(map: &Value) -> String {
    let Some(map) = map.as_object() else {
        return "<none>".into();
    };
    let mut pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    pairs.sort();
    or_none(pairs.join(","))
}

/// A `LabelSelector` as `labels.Selector.String()`: its requirements in key order
/// (`app=web,tier in (a,b),!legacy`); empty for an empty or missing selector.
pub(super) fn selector_string(sel: &Value) -> String {
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(labels) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in labels {
            reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    for e in list_at(sel, &["matchExpressions"]) {
        let key = str_at(e, &["key"]);
        let mut values: Vec<&str> = list_at(e, &["values"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        values.dedup();
        let text = match str_at(e, &["operator"]) {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            other => format!("{key} {other} ({})", values.join(",")),
        };
        reqs.push((key.to_owned(), text));
    }
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    reqs.into_iter()
        .map(|(_, text)| text)
        .collect::<Vec<_>>()
        .join(",")
}

/// `metav1.FormatLabelSelector`: the selector, or `<none>` when it selects by nothing.
pub(super) fn format_selector(sel: &Value) -> String {
    or_none(selector_string(sel))
}

/// kubectl's `layoutContainerCells`: the names and the images of a pod spec's containers,
/// each comma-separated.
pub(super) fn container_cells(pod_spec: &Value) -> (String, String) {
    let containers = list_at(pod_spec, &["containers"]);
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, &["image"])).collect();
    (names.join(","), images.join(","))
}

/// kubectl's `listWithMoreString`: up to `max` items joined by commas, then `+ N more...`;
/// `<unset>` for none.
pub(super) fn list_with_more(items: &[String], max: usize) -> String {
    let shown = items[..items.len().min(max)].join(",");
    if items.len() > max {
        format!("{shown} + {} more...", items.len() - max)
    } else if shown.is_empty() {
        "<unset>".into()
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn labels_and_selectors() {
        assert_eq!(format_labels(&json!({"b": "2", "a": "1"})), "a=1,b=2");
        assert_eq!(format_labels(&json!({})), "<none>");
        assert_eq!(format_labels(&Value::Null), "<none>");
        let sel = json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["b", "a"]},
                {"key": "legacy", "operator": "DoesNotExist"},
                {"key": "zone", "operator": "NotIn", "values": ["x"]},
                {"key": "canary", "operator": "Exists"},
            ]
        });
        assert_eq!(
            selector_string(&sel),
            "app=web,canary,!legacy,tier in (a,b),zone notin (x)"
        );
        assert_eq!(selector_string(&json!({})), "");
        assert_eq!(format_selector(&Value::Null), "<none>");
    }

    #[test]
    fn lists_and_containers() {
        let items: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        assert_eq!(list_with_more(&items, 3), "a,b,c + 2 more...");
        assert_eq!(list_with_more(&items[..2], 3), "a,b");
        assert_eq!(list_with_more(&[], 3), "<unset>");
        let spec = json!({"containers": [{"name": "app", "image": "a.wasm"}, {"name": "side", "image": "s.wasm"}]});
        assert_eq!(
            container_cells(&spec),
            ("app,side".to_owned(), "a.wasm,s.wasm".to_owned())
        );
        assert_eq!(int_at(&json!({"a": {"b": 3}}), &["a", "b"]), 3);
        assert_eq!(str_at(&json!({}), &["a", "b"]), "");
    }
}
