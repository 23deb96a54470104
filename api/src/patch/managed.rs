//! `metadata.managedFields`: reading and writing the entries, recording the fields an
//! update (PUT, POST, non-apply PATCH) changed as owned by its manager, and stamping times.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::fieldset::{FieldPath, PathElement, fields_of, from_fields_v1, lookup, to_fields_v1};
use super::json_patch::json_equal;

/// One `managedFields` entry with its field set decoded.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub subresource: Option<String>,
    pub fields: BTreeSet<FieldPath>,
    /// The entry as stored; written back unchanged when `fields` did not change.
    pub raw: Option<Value>,
}

impl Entry {
    pub(crate) fn new(manager: &str, operation: &str, api_version: &str) -> Entry {
        Entry {
            manager: manager.to_owned(),
            operation: operation.to_owned(),
            api_version: api_version.to_owned(),
            subresource: None,
            fields: BTreeSet::new(),
            raw: None,
        }
    }

    pub(crate) fn is(&self, manager: &str, operation: &str) -> bool {
        self.manager == manager && self.operation == operation && self.subresource.is_none()
    }

    fn to_json(&self) -> Value {
        if let Some(raw) = &self.raw
            && raw.get("fieldsV1").map(from_fields_v1).as_ref() == Some(&self.fields)
        {
            return raw.clone();
        }
        let mut v = json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(&self.fields),
        });
        if let Some(sub) = &self.subresource {
            v["subresource"] = json!(sub);
        }
        v
    }
}

/// The entries of `obj`'s `metadata.managedFields` (malformed entries are dropped).
pub(crate) fn read(obj: &Value) -> Vec<Entry> {
    let Some(Value::Array(list)) = obj.pointer("/metadata/managedFields") else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|e| {
            let text = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_owned);
            Some(Entry {
                manager: text("manager")?,
                operation: text("operation").unwrap_or_else(|| "Update".into()),
                api_version: text("apiVersion").unwrap_or_default(),
                subresource: text("subresource").filter(|s| !s.is_empty()),
                fields: e.get("fieldsV1").map(from_fields_v1).unwrap_or_default(),
                raw: Some(e.clone()),
            })
        })
        .collect()
}

/// Writes `entries` (dropping those that own nothing) as `obj`'s `metadata.managedFields`.
pub(crate) fn write(obj: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(Entry::to_json)
        .collect();
    let Some(obj) = obj.as_object_mut() else {
        return;
    };
    let meta = obj.entry("metadata").or_insert_with(|| json!({}));
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    if list.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), Value::Array(list));
    }
}

/// Records an update by `manager` that turned `old` (None on create) into `new`: the fields
/// it added or changed become `manager`'s (operation `Update`) and stop being anyone else's;
/// fields `new` no longer has stop being anyone's. Updates never conflict. Entries come
/// from `new` when it carries `metadata.managedFields`, else from `old`.
pub fn record_update(kind: &str, old: Option<&Value>, new: &mut Value, manager: &str) {
    let mut entries = match new.pointer("/metadata/managedFields") {
        Some(_) => read(new),
        None => old.map(read).unwrap_or_default(),
    };
    let present = fields_of(kind, new);
    let changed: BTreeSet<FieldPath> = present
        .iter()
        .filter(|p| {
            let before = old.and_then(|o| lookup(o, p));
            match p.last() {
                Some(PathElement::Key(_)) | Some(PathElement::Value(_)) => before.is_none(),
                _ => !before
                    .zip(lookup(new, p))
                    .is_some_and(|(a, b)| json_equal(a, b)),
            }
        })
        .cloned()
        .collect();
    for e in &mut entries {
        e.fields
            .retain(|p| present.contains(p) && !changed.contains(p));
    }
    let api_version = new
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mine = match entries.iter().position(|e| e.is(manager, "Update")) {
        Some(i) => &mut entries[i],
        None => {
            entries.push(Entry::new(manager, "Update", api_version));
            let last = entries.len() - 1;
            &mut entries[last]
        }
    };
    if mine.api_version != api_version {
        mine.api_version = api_version.to_owned();
        mine.raw = None;
    }
    mine.fields.extend(changed);
    write(new, &entries);
}

/// Sets `time` on every `managedFields` entry of `obj` that has none: entries this module
/// writes or rewrites carry no time, so the API server stamps them with the write's time.
pub fn stamp_managed_fields_time(obj: &mut Value, time: &str) {
    if let Some(Value::Array(list)) = obj.pointer_mut("/metadata/managedFields") {
        for entry in list.iter_mut().filter_map(Value::as_object_mut) {
            entry.entry("time").or_insert_with(|| json!(time));
        }
    }
}
