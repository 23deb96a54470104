//! Server-side apply: merging an applied configuration into the live object, field
//! ownership per manager in `metadata.managedFields`, conflicts, `force`, and removing the
//! fields a manager stops applying. The subset implemented is described in `patch`'s docs.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::fieldset::{FieldPath, PathElement, display, fields_of, lookup, remove};
use super::json_patch::json_equal;
use super::managed::{self, Entry};
use super::schema::{ListStrategy, Shape};
use super::{ApplyOptions, FieldConflict, PatchError};

/// Applies the configuration `applied` (a parsed `apply-patch+yaml` body) for
/// `opts.field_manager` to `original` (None: create).
pub(crate) fn server_side_apply(
    kind: &str,
    original: Option<&Value>,
    mut applied: Value,
    opts: &ApplyOptions,
) -> Result<Value, PatchError> {
    let manager = match opts.field_manager.as_deref() {
        Some(m) if !m.is_empty() => m,
        _ => {
            return Err(PatchError::bad(
                "fieldManager must be set for apply patches",
            ));
        }
    };
    let api_version = check_applied(kind, &mut applied)?;

    let mut live = original
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let mut entries = managed::read(&live);
    let wanted = fields_of(kind, &applied);
    let conflicts =
        take_or_report_conflicts(&mut entries, manager, &wanted, &live, &applied, opts.force);
    if !conflicts.is_empty() {
        return Err(PatchError::Conflict(conflicts));
    }

    merge_applied(&mut live, &applied, Shape::root(kind));

    let mine = entries.iter().position(|e| e.is(manager, "Apply"));
    let before = mine.map(|i| entries[i].fields.clone()).unwrap_or_default();
    remove_dropped_fields(&mut live, &entries, manager, &before, &wanted);

    let entry = match mine {
        Some(i) => &mut entries[i],
        None => {
            entries.push(Entry::new(manager, "Apply", &api_version));
            let last = entries.len() - 1;
            &mut entries[last]
        }
    };
    entry.api_version = api_version;
    entry.fields = wanted;
    entry.raw = None;
    managed::write(&mut live, &entries);
    Ok(live)
}

/// Checks that an apply body names `apiVersion` and the object's `kind`, and drops any
/// `managedFields` it carries; returns its `apiVersion`.
fn check_applied(kind: &str, applied: &mut Value) -> Result<String, PatchError> {
    let Some(body) = applied.as_object_mut() else {
        return Err(PatchError::bad("an apply patch must be an object"));
    };
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (api_version, applied_kind) = (text("apiVersion"), text("kind"));
    if api_version.is_empty() || applied_kind.is_empty() {
        return Err(PatchError::bad(
            "an apply patch must set apiVersion and kind",
        ));
    }
    if applied_kind != kind {
        return Err(PatchError::bad(format!(
            "the apply patch is a {applied_kind}, not a {kind}"
        )));
    }
    if let Some(Value::Object(meta)) = body.get_mut("metadata") {
        meta.remove("managedFields");
    }
    Ok(api_version)
}

/// Removes from `live` the fields `manager` applied `before` and no longer applies (`wanted`),
/// unless another manager owns them (or something under them), deepest first.
fn remove_dropped_fields(
    live: &mut Value,
    entries: &[Entry],
    manager: &str,
    before: &BTreeSet<FieldPath>,
    wanted: &BTreeSet<FieldPath>,
) {
    let others: BTreeSet<&FieldPath> = entries
        .iter()
        .filter(|e| !e.is(manager, "Apply"))
        .flat_map(|e| e.fields.iter())
        .collect();
    let mut dropped: Vec<&FieldPath> = before.difference(wanted).collect();
    dropped.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for path in dropped {
        let kept = others.iter().any(|o| o.starts_with(path))
            || wanted.iter().any(|w| w.starts_with(path));
        if !kept && !is_key_field(path) {
            remove(live, path);
        }
    }
}

/// A keyed-list element's own merge key (`name` under `k:{"name":..}`): it goes with the
/// element, never alone.
fn is_key_field(path: &[PathElement]) -> bool {
    match path {
        [.., PathElement::Key(json), PathElement::Field(f)] => {
            serde_json::from_str::<Map<String, Value>>(json).is_ok_and(|k| k.contains_key(f))
        }
        _ => false,
    }
}

/// Finds the fields of `wanted` that other managers own and that the apply would change.
/// With `force` they change hands (and nothing is reported); without it they are returned.
fn take_or_report_conflicts(
    entries: &mut [Entry],
    manager: &str,
    wanted: &BTreeSet<FieldPath>,
    live: &Value,
    applied: &Value,
    force: bool,
) -> Vec<FieldConflict> {
    let mut conflicts = Vec::new();
    for entry in entries.iter_mut().filter(|e| !e.is(manager, "Apply")) {
        let clashing: Vec<FieldPath> = entry
            .fields
            .intersection(wanted)
            .filter(|p| {
                !matches!(
                    p.last(),
                    Some(PathElement::Key(_)) | Some(PathElement::Value(_))
                )
            })
            .filter(|p| match (lookup(live, p), lookup(applied, p)) {
                (Some(a), Some(b)) => !json_equal(a, b),
                _ => true,
            })
            .cloned()
            .collect();
        if force {
            for p in &clashing {
                entry.fields.remove(p);
            }
        } else {
            conflicts.extend(clashing.iter().map(|p| FieldConflict {
                manager: entry.manager.clone(),
                api_version: entry.api_version.clone(),
                field: display(p),
            }));
        }
    }
    conflicts
}

/// Merges the applied configuration into the live object: objects field by field, keyed
/// lists element by element (new elements appended), set lists as a union, everything else
/// replaced. `null` removes a field.
pub(crate) fn merge_applied(live: &mut Value, applied: &Value, node: Shape) {
    let (Value::Object(live_map), Value::Object(applied_map)) = (&mut *live, applied) else {
        *live = without_nulls(applied);
        return;
    };
    for (key, value) in applied_map {
        if value.is_null() {
            live_map.remove(key);
            continue;
        }
        let (child, strategy) = node.field(key);
        let slot = live_map.entry(key.clone()).or_insert(Value::Null);
        match (&mut *slot, value, strategy) {
            (Value::Object(_), Value::Object(_), _) => merge_applied(slot, value, child),
            (Value::Array(items), Value::Array(new), ListStrategy::MergeByKey(k)) => {
                for element in new {
                    let id = element.get(k);
                    match items.iter_mut().find(|i| id.is_some() && i.get(k) == id) {
                        Some(existing) => merge_applied(existing, element, child),
                        None => items.push(without_nulls(element)),
                    }
                }
            }
            (Value::Array(items), Value::Array(new), ListStrategy::MergeSet) => {
                for element in new {
                    if !items.contains(element) {
                        items.push(element.clone());
                    }
                }
            }
            _ => *slot = without_nulls(value),
        }
    }
}

fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}
