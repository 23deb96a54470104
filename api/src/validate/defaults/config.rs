//! Secret defaults: the `Opaque` type, and `stringData` folded into `data` as the v1 → internal
//! conversion of kube-apiserver does (a `stringData` key wins over the same `data` key), so
//! `stringData` is never stored.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::{object, set};

pub(crate) fn default_secret(obj: &mut Value) {
    set(obj, "type", "Opaque".into());
    fold_string_data(obj);
}

/// Moves every string of `stringData` into `data`, base64-encoded. Leaves a `stringData` of the
/// wrong shape in place so that schema checks report it.
fn fold_string_data(obj: &mut Value) {
    let Some(strings) = obj.get("stringData").and_then(Value::as_object) else {
        if obj.get("stringData").is_some_and(Value::is_null) {
            remove(obj, "stringData");
        }
        return;
    };
    if !strings.values().all(Value::is_string) {
        return;
    }
    let encoded: Vec<(String, String)> = strings
        .iter()
        .map(|(k, v)| (k.clone(), STANDARD.encode(v.as_str().unwrap_or(""))))
        .collect();
    remove(obj, "stringData");
    let Some(data) = object(obj, "data").and_then(Value::as_object_mut) else {
        return;
    };
    for (key, value) in encoded {
        data.insert(key, Value::String(value));
    }
}

fn remove(obj: &mut Value, key: &str) {
    if let Some(m) = obj.as_object_mut() {
        m.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::default_secret;

    #[test]
    fn string_data_is_folded_into_data_and_wins() {
        let cases = [
            (
                json!({"stringData": {"user": "admin"}}),
                json!({"type": "Opaque", "data": {"user": "YWRtaW4="}}),
            ),
            (
                json!({"data": {"user": "b2xk", "keep": "eA=="}, "stringData": {"user": "new"}}),
                json!({"type": "Opaque", "data": {"user": "bmV3", "keep": "eA=="}}),
            ),
            (
                json!({"type": "kubernetes.io/tls", "stringData": null}),
                json!({"type": "kubernetes.io/tls"}),
            ),
            (
                json!({"stringData": {"n": 1}}),
                json!({"type": "Opaque", "stringData": {"n": 1}}),
            ),
        ];
        for (mut input, want) in cases {
            default_secret(&mut input);
            assert_eq!(input, want);
        }
    }
}
