//! Object metadata the server owns: names from `generateName`, `uid`, `creationTimestamp`,
//! `generation`, and what create and update may and may not change (spec vs status).

use rand::Rng;
use serde_json::{Value, json};
use skiff_api::resources::ResourceInfo;
use skiff_api::status::ApiError;

/// Characters Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The current time as Kubernetes writes it (`2026-11-23T01:02:03Z`).
pub(crate) fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_rfc3339(secs as i64)
}

/// Seconds since the epoch, now.
pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Formats a UNIX time as RFC 3339 UTC (civil-from-days, proleptic Gregorian).
pub(crate) fn format_rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}

fn new_uid() -> String {
    let b: [u8; 16] = rand::rng().random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        u16::from_be_bytes([b[6], b[7]]) & 0x0fff,
        (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000,
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]]),
    )
}

/// Five random characters of kube's `utilrand.String` alphabet (generateName, volume names).
pub(crate) fn suffix() -> String {
    let mut rng = rand::rng();
    (0..5)
        .map(|_| SUFFIX_ALPHABET[rng.random_range(0..SUFFIX_ALPHABET.len())] as char)
        .collect()
}

/// Checks `apiVersion`/`kind` and the namespace against the request, fills them if absent.
pub(crate) fn check_type_and_namespace(
    info: &ResourceInfo,
    obj: &mut Value,
    namespace: Option<&str>,
) -> Result<(), ApiError> {
    let Some(map) = obj.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    };
    let api_version = info.api_version();
    match map.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => drop(map.insert("apiVersion".into(), json!(api_version))),
        Some(v) if v == api_version => {}
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
    }
    match map.get("kind").and_then(Value::as_str) {
        None | Some("") => drop(map.insert("kind".into(), json!(info.kind))),
        Some(k) if k == info.kind => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                info.kind
            )));
        }
    }
    let meta = map.entry("metadata").or_insert_with(|| json!({}));
    let Some(meta) = meta.as_object_mut() else {
        return Err(ApiError::bad_request("metadata must be an object"));
    };
    if info.namespaced {
        match (meta.get("namespace").and_then(Value::as_str), namespace) {
            (Some(given), Some(path)) if !given.is_empty() && given != path => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            (_, Some(path)) => drop(meta.insert("namespace".into(), json!(path))),
            (Some(given), None) if !given.is_empty() => {}
            _ => {
                return Err(ApiError::bad_request(
                    "a namespace is required for this resource",
                ));
            }
        }
    } else {
        meta.remove("namespace");
    }
    Ok(())
}

/// Server-owned metadata for a new object; resets `status` (only the status subresource and
/// controllers write it) and resolves `generateName`.
pub(crate) fn prepare_create(info: &ResourceInfo, obj: &mut Value) -> Result<(), ApiError> {
    let meta = obj["metadata"]
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
    let has_name = meta
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if !has_name {
        match meta.get("generateName").and_then(Value::as_str) {
            Some(prefix) if !prefix.is_empty() => {
                let name = format!("{prefix}{}", suffix());
                meta.insert("name".into(), json!(name));
            }
            _ => {
                return Err(ApiError::invalid(
                    info.kind,
                    info.group,
                    "",
                    vec![skiff_api::status::FieldError::required("metadata.name")],
                ));
            }
        }
    }
    meta.remove("resourceVersion");
    meta.remove("deletionTimestamp");
    meta.remove("deletionGracePeriodSeconds");
    meta.insert("uid".into(), json!(new_uid()));
    meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
    if info.has_spec {
        meta.insert("generation".into(), json!(1));
    }
    if info.has_status {
        let status = if info.kind == "Pod" {
            json!({ "phase": "Pending" })
        } else {
            json!({})
        };
        if let Some(map) = obj.as_object_mut() {
            map.insert("status".into(), status);
        }
    }
    Ok(())
}

/// Carries over what an update of the main resource may not change, and bumps `generation`
/// when the spec changed.
pub(crate) fn prepare_update(info: &ResourceInfo, old: &Value, new: &mut Value) {
    for field in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ] {
        match old["metadata"].get(field) {
            Some(v) => new["metadata"][field] = v.clone(),
            None => {
                if let Some(meta) = new["metadata"].as_object_mut() {
                    meta.remove(field);
                }
            }
        }
    }
    if info.has_status {
        new["status"] = old.get("status").cloned().unwrap_or_else(|| json!({}));
    }
    if info.has_spec && old.get("spec") != new.get("spec") {
        let generation = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
        new["metadata"]["generation"] = json!(generation);
    }
}

/// An update through the `status` subresource: only `status` changes.
pub(crate) fn prepare_status_update(old: &Value, new: &Value) -> Value {
    let mut merged = old.clone();
    merged["status"] = new.get("status").cloned().unwrap_or_else(|| json!({}));
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_ids_have_kubernetes_shapes() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_795_396_923), "2026-11-23T01:22:03Z");
        let uid = new_uid();
        assert_eq!((uid.len(), &uid[14..15]), (36, "4"));
        assert!(suffix().bytes().all(|b| SUFFIX_ALPHABET.contains(&b)));
    }

    #[test]
    fn updates_keep_status_and_bump_generation_on_spec_change() {
        let info = skiff_api::resources::find("apps", "v1", "deployments").unwrap();
        let old = json!({"metadata": {"name": "d", "uid": "u", "generation": 3}, "spec": {"replicas": 1}, "status": {"replicas": 1}});
        let mut new =
            json!({"metadata": {"name": "d"}, "spec": {"replicas": 2}, "status": {"replicas": 9}});
        prepare_update(info, &old, &mut new);
        assert_eq!(
            (
                new["metadata"]["uid"].clone(),
                new["metadata"]["generation"].clone(),
                new["status"]["replicas"].clone()
            ),
            (json!("u"), json!(4), json!(1))
        );
        let mut same =
            json!({"metadata": {"name": "d", "labels": {"a": "b"}}, "spec": {"replicas": 1}});
        prepare_update(info, &old, &mut same);
        assert_eq!(same["metadata"]["generation"], json!(3));
    }
}
