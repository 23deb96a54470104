//! Field sets for server-side apply: the set of fields an object (or an applied
//! configuration) sets, their `fieldsV1` encoding in `metadata.managedFields`, and looking
//! up or removing the value at a field path.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::schema::{ListStrategy, Shape};

/// One step of a field path, as `fieldsV1` spells it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// `f:<name>`: a field of an object.
    Field(String),
    /// `k:<json>`: the element of a keyed list whose merge key has this value, e.g.
    /// `{"name":"app"}`.
    Key(String),
    /// `v:<json>`: a value of a set list (`metadata.finalizers`).
    Value(String),
}

pub type FieldPath = Vec<PathElement>;

/// Fields no manager owns: identity and bookkeeping kube-apiserver strips before tracking.
const IGNORED_TOP: &[&str] = &["apiVersion", "kind", "status"];
const IGNORED_META: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// Every field `obj` (an object of `kind`) sets. Nulls set nothing; keyed-list elements own
/// their own path as well as their fields; atomic lists and empty objects are leaves.
pub fn fields_of(kind: &str, obj: &Value) -> BTreeSet<FieldPath> {
    let mut out = BTreeSet::new();
    collect(obj, Shape::root(kind), &mut Vec::new(), &mut out);
    out
}

fn collect(v: &Value, node: Shape, prefix: &mut FieldPath, out: &mut BTreeSet<FieldPath>) {
    let Value::Object(map) = v else { return };
    for (k, child) in map {
        let ignored = match prefix.as_slice() {
            [] => IGNORED_TOP.contains(&k.as_str()),
            [PathElement::Field(m)] if m == "metadata" => IGNORED_META.contains(&k.as_str()),
            _ => false,
        };
        if ignored || child.is_null() {
            continue;
        }
        prefix.push(PathElement::Field(k.clone()));
        let (child_node, strategy) = node.field(k);
        match (child, strategy) {
            (Value::Object(m), _) if !m.is_empty() => collect(child, child_node, prefix, out),
            (Value::Array(items), ListStrategy::MergeByKey(key)) => {
                for item in items {
                    let Some(id) = item.get(key) else { continue };
                    prefix.push(key_element(key, id));
                    out.insert(prefix.clone());
                    collect(item, child_node, prefix, out);
                    prefix.pop();
                }
            }
            (Value::Array(items), ListStrategy::MergeSet) => {
                for item in items.iter().filter(|i| !i.is_object() && !i.is_array()) {
                    prefix.push(PathElement::Value(item.to_string()));
                    out.insert(prefix.clone());
                    prefix.pop();
                }
            }
            _ => {
                out.insert(prefix.clone());
            }
        }
        prefix.pop();
    }
}

pub(crate) fn key_element(key: &str, value: &Value) -> PathElement {
    let map = Map::from_iter([(key.to_owned(), value.clone())]);
    PathElement::Key(Value::Object(map).to_string())
}

fn matches_key(item: &Value, key: &Map<String, Value>) -> bool {
    key.iter().all(|(k, v)| item.get(k) == Some(v))
}

/// The value at `path` in `v`, if there is one.
pub fn lookup<'a>(v: &'a Value, path: &[PathElement]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, step| match step {
        PathElement::Field(name) => v.get(name),
        PathElement::Key(json) => {
            let key: Map<String, Value> = serde_json::from_str(json).ok()?;
            v.as_array()?.iter().find(|item| matches_key(item, &key))
        }
        PathElement::Value(json) => {
            let wanted: Value = serde_json::from_str(json).ok()?;
            v.as_array()?.iter().find(|item| **item == wanted)
        }
    })
}

/// Removes the value at `path` from `v` (a no-op when it is not there).
pub fn remove(v: &mut Value, path: &[PathElement]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut v = v;
    for step in parents {
        let next = match step {
            PathElement::Field(name) => v.get_mut(name),
            PathElement::Key(json) => {
                let Ok(key) = serde_json::from_str::<Map<String, Value>>(json) else {
                    return;
                };
                v.as_array_mut()
                    .and_then(|a| a.iter_mut().find(|item| matches_key(item, &key)))
            }
            PathElement::Value(_) => None,
        };
        let Some(next) = next else { return };
        v = next;
    }
    match (last, v) {
        (PathElement::Field(name), Value::Object(m)) => {
            m.remove(name);
        }
        (PathElement::Key(json), Value::Array(a)) => {
            if let Ok(key) = serde_json::from_str::<Map<String, Value>>(json) {
                a.retain(|item| !matches_key(item, &key));
            }
        }
        (PathElement::Value(json), Value::Array(a)) => {
            if let Ok(wanted) = serde_json::from_str::<Value>(json) {
                a.retain(|item| *item != wanted);
            }
        }
        _ => {}
    }
}

/// Kubernetes' spelling of a path in conflict messages:
/// `.spec.template.spec.containers[name="app"].image`.
pub fn display(path: &[PathElement]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            PathElement::Field(name) => {
                out.push('.');
                out.push_str(name);
            }
            PathElement::Key(json) => {
                let key: Map<String, Value> = serde_json::from_str(json).unwrap_or_default();
                let parts: Vec<String> = key.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push_str(&format!("[{}]", parts.join(",")));
            }
            PathElement::Value(json) => out.push_str(&format!("[={json}]")),
        }
    }
    out
}

/// The `fieldsV1` object for `set`: `{"f:spec":{"f:replicas":{}}}`, with `".":{}` where a
/// keyed-list element is itself owned.
pub fn to_fields_v1(set: &BTreeSet<FieldPath>) -> Value {
    let mut root = Map::new();
    for path in set {
        let owned_with_children = set
            .range(path.clone()..)
            .nth(1)
            .is_some_and(|next| next.starts_with(path));
        insert(&mut root, path, owned_with_children);
    }
    Value::Object(root)
}

fn insert(node: &mut Map<String, Value>, path: &[PathElement], mark: bool) {
    let Some((step, rest)) = path.split_first() else {
        if mark {
            node.insert(".".into(), Value::Object(Map::new()));
        }
        return;
    };
    let name = match step {
        PathElement::Field(n) => format!("f:{n}"),
        PathElement::Key(j) => format!("k:{j}"),
        PathElement::Value(j) => format!("v:{j}"),
    };
    if let Value::Object(next) = node
        .entry(name)
        .or_insert_with(|| Value::Object(Map::new()))
    {
        insert(next, rest, mark);
    }
}

/// The set a `fieldsV1` object describes. Unknown spellings (`i:` index steps) are skipped.
pub fn from_fields_v1(v: &Value) -> BTreeSet<FieldPath> {
    let mut out = BTreeSet::new();
    decode(v, &mut Vec::new(), &mut out);
    out
}

fn decode(v: &Value, prefix: &mut FieldPath, out: &mut BTreeSet<FieldPath>) {
    let Value::Object(map) = v else { return };
    if map.is_empty() && !prefix.is_empty() {
        out.insert(prefix.clone());
    }
    for (k, child) in map {
        let step = match k.split_at_checked(2) {
            _ if k == "." => {
                if !prefix.is_empty() {
                    out.insert(prefix.clone());
                }
                continue;
            }
            Some(("f:", rest)) => PathElement::Field(rest.to_owned()),
            Some(("k:", rest)) => PathElement::Key(rest.to_owned()),
            Some(("v:", rest)) => PathElement::Value(rest.to_owned()),
            _ => continue,
        };
        prefix.push(step);
        decode(child, prefix, out);
        prefix.pop();
    }
}
