//! Strict field checking: decode an object into its k8s-openapi type, turning type errors into
//! `FieldError`s with the path serde reports, and collect the fields the type does not know
//! (for `fieldValidation=Strict|Warn|Ignore`).
//!
//! Unknown fields are the keys the typed deserializer skips (`serde_ignored`), so `null`s,
//! empty lists and free-form maps (labels, data, resource lists) are never reported.

use k8s_openapi::api::{
    apps, autoscaling, batch, coordination, core, discovery, networking, policy, rbac,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::field::{index, show};
use crate::resources::ResourceInfo;
use crate::status::FieldError;

/// See [`super::check_schema`].
pub(crate) fn check(info: &ResourceInfo, obj: &Value) -> Result<Vec<String>, Vec<FieldError>> {
    // The typed decoders reject a foreign apiVersion or kind without a path: check them here.
    let api_version = info.api_version();
    for (field, want) in [("apiVersion", api_version.as_str()), ("kind", info.kind)] {
        if let Some(v) = obj.get(field).filter(|v| v.as_str() != Some(want)) {
            let msg = format!("Invalid value: {}: must be {want:?}", show(v));
            return Err(vec![FieldError::invalid(field, msg)]);
        }
    }
    match (info.group, info.kind) {
        ("", "Namespace") => decode::<core::v1::Namespace>(obj),
        ("", "Node") => decode::<core::v1::Node>(obj),
        ("", "Pod") => decode::<core::v1::Pod>(obj),
        ("", "Service") => decode::<core::v1::Service>(obj),
        ("", "Endpoints") => decode::<core::v1::Endpoints>(obj),
        ("", "ConfigMap") => decode::<core::v1::ConfigMap>(obj),
        ("", "Secret") => decode::<core::v1::Secret>(obj),
        ("", "Event") => decode::<core::v1::Event>(obj),
        ("", "ServiceAccount") => decode::<core::v1::ServiceAccount>(obj),
        ("apps", "Deployment") => decode::<apps::v1::Deployment>(obj),
        ("apps", "ReplicaSet") => decode::<apps::v1::ReplicaSet>(obj),
        ("apps", "DaemonSet") => decode::<apps::v1::DaemonSet>(obj),
        ("apps", "ControllerRevision") => decode::<apps::v1::ControllerRevision>(obj),
        ("", "ReplicationController") => decode::<core::v1::ReplicationController>(obj),
        ("policy", "PodDisruptionBudget") => decode::<policy::v1::PodDisruptionBudget>(obj),
        ("networking.k8s.io", "NetworkPolicy") => decode::<networking::v1::NetworkPolicy>(obj),
        ("batch", "Job") => decode::<batch::v1::Job>(obj),
        ("batch", "CronJob") => decode::<batch::v1::CronJob>(obj),
        ("autoscaling", "HorizontalPodAutoscaler") => {
            decode::<autoscaling::v2::HorizontalPodAutoscaler>(obj)
        }
        ("coordination.k8s.io", "Lease") => decode::<coordination::v1::Lease>(obj),
        ("discovery.k8s.io", "EndpointSlice") => decode::<discovery::v1::EndpointSlice>(obj),
        ("rbac.authorization.k8s.io", "Role") => decode::<rbac::v1::Role>(obj),
        ("rbac.authorization.k8s.io", "ClusterRole") => decode::<rbac::v1::ClusterRole>(obj),
        ("rbac.authorization.k8s.io", "RoleBinding") => decode::<rbac::v1::RoleBinding>(obj),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
            decode::<rbac::v1::ClusterRoleBinding>(obj)
        }
        _ => Ok(Vec::new()),
    }
}

/// Decodes `obj` as a `T` once without tracking where it is: serde_path_to_error's wrapper
/// around every value costs about as much as the decode itself, and most objects are valid.
/// Only when that fails is it decoded again with the path tracked, for the error's field
/// (the same deserializer over the same value fails the same way).
fn decode<T: DeserializeOwned>(obj: &Value) -> Result<Vec<String>, Vec<FieldError>> {
    let mut unknown = Vec::new();
    let mut record = |path: serde_ignored::Path<'_>| {
        let mut out = String::new();
        ignored_path(&path, &mut out);
        unknown.push(out);
    };
    let ignored = serde_ignored::Deserializer::new(obj, &mut record);
    if T::deserialize(ignored).is_ok() {
        return Ok(unknown);
    }
    let mut ignore = |_: serde_ignored::Path<'_>| {};
    let ignored = serde_ignored::Deserializer::new(obj, &mut ignore);
    match serde_path_to_error::deserialize::<_, T>(ignored) {
        Ok(_) => Ok(unknown),
        Err(e) => Err(vec![type_error(obj, &e)]),
    }
}

/// Appends `name` to a path: `.name` for identifiers, `[name]` for map keys like `app.kubernetes.io/name`.
fn push_key(out: &mut String, name: &str) {
    let ident = name
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$');
    if out.is_empty() {
        out.push_str(name);
    } else if ident && !name.is_empty() {
        out.push('.');
        out.push_str(name);
    } else {
        out.push('[');
        out.push_str(name);
        out.push(']');
    }
}

fn ignored_path(path: &serde_ignored::Path<'_>, out: &mut String) {
    use serde_ignored::Path;
    match path {
        Path::Root => {}
        Path::Seq { parent, index: i } => {
            ignored_path(parent, out);
            *out = index(out, *i);
        }
        Path::Map { parent, key } => {
            ignored_path(parent, out);
            push_key(out, key);
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => {
            ignored_path(parent, out);
        }
    }
}

/// `spec.replicas: Invalid value: "three": expected integer`.
fn type_error(obj: &Value, e: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    use serde_path_to_error::Segment;
    let mut path = String::new();
    let mut at = Some(obj);
    for seg in e.path().iter() {
        match seg {
            Segment::Seq { index: i } => {
                path = index(&path, *i);
                at = at.and_then(|v| v.get(*i));
            }
            Segment::Map { key } => {
                push_key(&mut path, key);
                at = at.and_then(|v| v.get(key.as_str()));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    let raw = e.inner().to_string();
    // serde_json appends " at line L column C" only when parsing text; a Value has no position.
    let detail = match raw.split_once(", expected ") {
        Some((_, expected)) => format!("expected {}", humanize(expected)),
        None => raw,
    };
    let shown = at.map_or_else(|| "null".to_owned(), show);
    FieldError::invalid(path, format!("Invalid value: {shown}: {detail}"))
}

/// serde's type names in JSON terms (`i32` -> `integer`, `PodSpec` -> `object`).
fn humanize(expected: &str) -> String {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" => "integer".to_owned(),
        "f32" | "f64" => "number".to_owned(),
        "a string" => "string".to_owned(),
        "a boolean" => "boolean".to_owned(),
        "a sequence" => "array".to_owned(),
        "a map" => "object".to_owned(),
        "Quantity" => "quantity (string or number)".to_owned(),
        "IntOrString" => "integer or string".to_owned(),
        "Time" | "MicroTime" => "RFC 3339 date-time string".to_owned(),
        "base64-encoded string" | "ByteString" => "base64 string".to_owned(),
        other if other.starts_with(|c: char| c.is_ascii_uppercase()) && !other.contains(' ') => {
            "object".to_owned()
        }
        other => other.to_owned(),
    }
}
