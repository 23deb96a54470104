//! JSON merge patch (RFC 7386): objects merge key by key, `null` removes a key, anything
//! else (arrays included) replaces.

use serde_json::{Map, Value};

/// Applies `patch` to `target` in place.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(map) = target else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            map.remove(key);
        } else {
            merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The examples of RFC 7386 appendix A, plus the kubectl ones.
    #[test]
    fn rfc_7386_examples() {
        let cases = [
            (
                "replace",
                json!({"a":"b"}),
                json!({"a":"c"}),
                json!({"a":"c"}),
            ),
            (
                "add",
                json!({"a":"b"}),
                json!({"b":"c"}),
                json!({"a":"b","b":"c"}),
            ),
            (
                "null removes",
                json!({"a":"b"}),
                json!({"a":null}),
                json!({}),
            ),
            (
                "null removes one of two",
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (
                "array replaces",
                json!({"a":["b"]}),
                json!({"a":"c"}),
                json!({"a":"c"}),
            ),
            (
                "scalar to array",
                json!({"a":"c"}),
                json!({"a":["b"]}),
                json!({"a":["b"]}),
            ),
            (
                "nested",
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (
                "arrays are not merged",
                json!({"a":[{"b":"c"}]}),
                json!({"a":[1]}),
                json!({"a":[1]}),
            ),
            (
                "non-object patch",
                json!({"a":"foo"}),
                json!(["c"]),
                json!(["c"]),
            ),
            ("null patch", json!({"a":"foo"}), json!(null), json!(null)),
            (
                "object into scalar",
                json!("x"),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
            (
                "kubectl scale",
                json!({"spec":{"replicas":1,"x":1}}),
                json!({"spec":{"replicas":5}}),
                json!({"spec":{"replicas":5,"x":1}}),
            ),
            (
                "kubectl label removal",
                json!({"metadata":{"labels":{"a":"1","b":"2"}}}),
                json!({"metadata":{"labels":{"a":null}}}),
                json!({"metadata":{"labels":{"b":"2"}}}),
            ),
        ];
        for (name, mut target, patch, want) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, want, "case {name}");
        }
    }
}
