//! Field paths, `FieldError` builders worded like kube-apiserver's (`Invalid value: "x": ...`),
//! and small accessors on `serde_json::Value` shared by the validators.

use serde_json::Value;

use crate::status::FieldError;

/// `parent.name` (or `name` at the root).
pub(crate) fn child(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// `parent[i]`.
pub(crate) fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// `parent[key]`: an entry of a map-typed field (labels, data).
pub(crate) fn key(parent: &str, key: &str) -> String {
    format!("{parent}[{key}]")
}

/// A value as kube-apiserver prints it in messages: strings quoted, numbers bare.
pub(crate) fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".to_owned(),
        other => other.to_string(),
    }
}

pub(crate) fn invalid(path: impl Into<String>, v: &Value, detail: &str) -> FieldError {
    FieldError::invalid(path, format!("Invalid value: {}: {detail}", show(v)))
}

pub(crate) fn invalid_str(path: impl Into<String>, s: &str, detail: &str) -> FieldError {
    FieldError::invalid(path, format!("Invalid value: {s:?}: {detail}"))
}

pub(crate) fn required(path: impl Into<String>) -> FieldError {
    FieldError::required(path)
}

/// Required, with the explanation kube-apiserver adds (kept in the cause's message).
pub(crate) fn required_because(path: impl Into<String>, detail: &str) -> FieldError {
    FieldError {
        message: format!("Required value: {detail}"),
        ..FieldError::required(path)
    }
}

pub(crate) fn forbidden(path: impl Into<String>, detail: &str) -> FieldError {
    FieldError::forbidden(path, format!("Forbidden: {detail}"))
}

pub(crate) fn unsupported(path: impl Into<String>, v: &Value, supported: &[&str]) -> FieldError {
    let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
    FieldError::not_supported(
        path,
        format!(
            "Unsupported value: {}: supported values: {}",
            show(v),
            list.join(", ")
        ),
    )
}

pub(crate) fn duplicate(path: impl Into<String>, v: &Value) -> FieldError {
    FieldError {
        field: path.into(),
        kind: "FieldValueDuplicate",
        message: format!("Duplicate value: {}", show(v)),
    }
}

pub(crate) fn not_found(path: impl Into<String>, v: &Value) -> FieldError {
    FieldError {
        field: path.into(),
        kind: "FieldValueNotFound",
        message: format!("Not found: {}", show(v)),
    }
}

pub(crate) fn too_long(path: impl Into<String>, max: usize) -> FieldError {
    FieldError {
        field: path.into(),
        kind: "FieldValueTooLong",
        message: format!("Too long: must have at most {max} bytes"),
    }
}

/// `Invalid value: ...: field is immutable`.
pub(crate) fn immutable(path: impl Into<String>, v: &Value) -> FieldError {
    invalid(path, v, "field is immutable")
}

/// `obj[name]` as a string, if it is one.
pub(crate) fn str_of<'a>(obj: &'a Value, name: &str) -> Option<&'a str> {
    obj.get(name).and_then(Value::as_str)
}

/// `obj[name]` as an integer, if it is one.
pub(crate) fn int_of(obj: &Value, name: &str) -> Option<i64> {
    obj.get(name).and_then(Value::as_i64)
}

/// `obj[name]` as an array (empty when absent or not an array).
pub(crate) fn list_of<'a>(obj: &'a Value, name: &str) -> &'a [Value] {
    obj.get(name)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The entries of `obj[name]` when it is an object.
pub(crate) fn map_of<'a>(
    obj: &'a Value,
    name: &str,
) -> impl Iterator<Item = (&'a String, &'a Value)> {
    obj.get(name)
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.iter())
}

/// `obj[name]` when present and not null.
pub(crate) fn present<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

/// An integer field that must be `>= min` when set.
pub(crate) fn check_min(
    errs: &mut Vec<FieldError>,
    obj: &Value,
    parent: &str,
    name: &str,
    min: i64,
) {
    if let Some(v) = present(obj, name)
        && v.as_i64().is_some_and(|n| n < min)
    {
        errs.push(invalid(
            child(parent, name),
            v,
            &format!("must be greater than or equal to {min}"),
        ));
    }
}

/// A string field whose value must be one of `supported` when set.
pub(crate) fn check_enum(
    errs: &mut Vec<FieldError>,
    obj: &Value,
    parent: &str,
    name: &str,
    supported: &[&str],
) {
    if let Some(v) = present(obj, name)
        && v.as_str().is_some_and(|s| !supported.contains(&s))
    {
        errs.push(unsupported(child(parent, name), v, supported));
    }
}
