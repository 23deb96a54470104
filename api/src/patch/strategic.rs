//! Strategic merge patch on maps, as kube-apiserver applies it (apimachinery
//! `strategicpatch.StrategicMergeMapPatch`): `null` deletes a key, `$patch: replace|delete|
//! merge`, `$retainKeys`, `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`.
//! Lists are merged by the strategy [`super::schema`] gives them (see `strategic_list`).

use serde_json::{Map, Value};

use super::PatchError;
use super::schema::{ListStrategy, Shape};
use super::strategic_list::{merge_list, reorder};

pub(crate) const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// Applies the strategic merge patch `patch` to the object `original` of kind `kind`.
pub fn strategic_merge(kind: &str, original: &mut Value, patch: Value) -> Result<(), PatchError> {
    let Value::Object(patch) = patch else {
        return Err(PatchError::bad(
            "a strategic merge patch must be a JSON object",
        ));
    };
    if !original.is_object() {
        *original = Value::Object(Map::new());
    }
    let Value::Object(map) = original else {
        return Ok(());
    };
    merge_map(map, patch, Shape::root(kind))
}

/// Merges `patch` into `original`; `node` says which lists below are keyed.
pub(crate) fn merge_map(
    original: &mut Map<String, Value>,
    mut patch: Map<String, Value>,
    node: Shape,
) -> Result<(), PatchError> {
    if !apply_map_directive(original, &mut patch)? {
        return Ok(());
    }
    if let Some(retain) = patch.remove(RETAIN_KEYS) {
        retain_keys(original, &patch, &retain)?;
    }
    let mut orders = Vec::new();
    let mut deletions = Vec::new();
    let mut fields = Vec::new();
    for (key, value) in patch {
        if let Some(list) = key.strip_prefix(SET_ELEMENT_ORDER) {
            orders.push((list.to_owned(), value));
        } else if let Some(list) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            deletions.push((list.to_owned(), value));
        } else {
            fields.push((key, value));
        }
    }
    for (key, value) in fields {
        let order = orders
            .iter()
            .position(|(k, _)| *k == key)
            .map(|i| orders.swap_remove(i).1);
        merge_field(original, key, value, node, order)?;
    }
    apply_orders(original, orders, node)?;
    apply_primitive_deletions(original, deletions)?;
    Ok(())
}

/// A map's `$patch` directive: `replace` empties `original` first, `delete` empties it and
/// ends the merge (returns false), `merge` (or none) merges.
fn apply_map_directive(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<bool, PatchError> {
    let Some(directive) = patch.remove(DIRECTIVE) else {
        return Ok(true);
    };
    match directive.as_str() {
        Some("replace") => original.clear(),
        Some("delete") => {
            original.clear();
            return Ok(false);
        }
        Some("merge") => {}
        _ => {
            return Err(PatchError::bad(format!(
                "unknown patch type {directive} in map"
            )));
        }
    }
    Ok(true)
}

/// `$setElementOrder/<list>` for lists the patch did not otherwise touch.
fn apply_orders(
    original: &mut Map<String, Value>,
    orders: Vec<(String, Value)>,
    node: Shape,
) -> Result<(), PatchError> {
    for (key, order) in orders {
        let (_, strategy) = node.field(&key);
        if let Some(Value::Array(list)) = original.get_mut(&key) {
            let before = list.clone();
            reorder(list, &before, &[], &order, strategy)?;
        } else if !order.is_array() {
            return Err(PatchError::bad(format!(
                "{SET_ELEMENT_ORDER}{key} must be a list"
            )));
        }
    }
    Ok(())
}

/// `$deleteFromPrimitiveList/<list>`: removes those values from a list of scalars.
fn apply_primitive_deletions(
    original: &mut Map<String, Value>,
    deletions: Vec<(String, Value)>,
) -> Result<(), PatchError> {
    for (key, remove) in deletions {
        let Value::Array(remove) = remove else {
            return Err(PatchError::bad(format!(
                "{DELETE_FROM_PRIMITIVE_LIST}{key} must be a list"
            )));
        };
        if let Some(Value::Array(list)) = original.get_mut(&key) {
            let remove: std::collections::HashSet<String> =
                remove.iter().map(Value::to_string).collect();
            list.retain(|v| !remove.contains(&v.to_string()));
        }
    }
    Ok(())
}

/// `$retainKeys`: drop every key of `original` not listed; the patch may set only listed keys.
fn retain_keys(
    original: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    retain: &Value,
) -> Result<(), PatchError> {
    let bad = || PatchError::bad(format!("{RETAIN_KEYS} must be a list of field names"));
    let Value::Array(list) = retain else {
        return Err(bad());
    };
    let keys: Vec<&str> = list
        .iter()
        .map(|v| v.as_str().ok_or_else(bad))
        .collect::<Result<_, _>>()?;
    for (k, v) in patch {
        let directive = k.starts_with(SET_ELEMENT_ORDER)
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k == DIRECTIVE;
        if !v.is_null() && !directive && !keys.contains(&k.as_str()) {
            return Err(PatchError::invalid(format!(
                "the patch sets {k:?}, which is not in its {RETAIN_KEYS} list {keys:?}"
            )));
        }
    }
    original.retain(|k, _| keys.contains(&k.as_str()));
    Ok(())
}

fn merge_field(
    original: &mut Map<String, Value>,
    key: String,
    value: Value,
    node: Shape,
    order: Option<Value>,
) -> Result<(), PatchError> {
    if value.is_null() {
        original.remove(&key);
        return Ok(());
    }
    let (child, strategy) = node.field(&key);
    match value {
        Value::Object(patch) => {
            let slot = original.entry(key).or_insert(Value::Null);
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(map) = slot {
                merge_map(map, patch, child)?;
            }
        }
        Value::Array(patch) => {
            let slot = original.entry(key).or_insert(Value::Null);
            if !slot.is_array() {
                *slot = Value::Array(Vec::new());
            }
            if let Value::Array(list) = slot {
                let strategy = infer_strategy(strategy, order.as_ref(), &patch);
                let before = list.clone();
                merge_list(list, patch.clone(), strategy, child)?;
                if let Some(order) = order {
                    reorder(list, &before, &patch, &order, strategy)?;
                }
            }
        }
        scalar => {
            if let Some(order) = order
                && !order.is_array()
            {
                return Err(PatchError::bad(format!(
                    "{SET_ELEMENT_ORDER}{key} must be a list, not {order}"
                )));
            }
            original.insert(key, scalar);
        }
    }
    Ok(())
}

/// For a list the table does not know, trust what kubectl's own schema put in the patch:
/// a `$setElementOrder` of one-key objects names the merge key, one of scalars makes a set,
/// and a `{"$patch":"delete", "<key>": ...}` element names the key too.
fn infer_strategy(strategy: ListStrategy, order: Option<&Value>, patch: &[Value]) -> ListStrategy {
    if strategy != ListStrategy::Replace {
        return strategy;
    }
    let single_key = |v: &Value| -> Option<String> {
        let m = v.as_object()?;
        let mut keys = m.keys().filter(|k| k.as_str() != DIRECTIVE);
        let key = keys.next()?;
        keys.next().is_none().then(|| key.clone())
    };
    if let Some(Value::Array(order)) = order
        && let Some(first) = order.first()
    {
        if first.is_object() {
            if let Some(key) = single_key(first)
                && order.iter().all(|o| single_key(o).as_deref() == Some(&key))
                && let Some(key) = known_key(key)
            {
                return ListStrategy::MergeByKey(key);
            }
        } else if order.iter().all(|o| !o.is_object() && !o.is_array()) {
            return ListStrategy::MergeSet;
        }
    }
    let deleted = patch
        .iter()
        .find(|e| e.get(DIRECTIVE).and_then(Value::as_str) == Some("delete"));
    match deleted.and_then(single_key).and_then(known_key) {
        Some(key) => ListStrategy::MergeByKey(key),
        None => strategy,
    }
}

/// Merge keys are `&'static str` in the table; an inferred one must be one of the merge
/// keys the Kubernetes API uses, or the list stays atomic.
fn known_key(key: String) -> Option<&'static str> {
    const KNOWN: &[&str] = &[
        "name",
        "uid",
        "type",
        "ip",
        "port",
        "containerPort",
        "mountPath",
        "devicePath",
        "topologyKey",
        "key",
    ];
    KNOWN.iter().find(|k| **k == key).copied()
}
