//! JSON merge patch, JSON patch, strategic merge patch and server-side apply on JSON
//! objects: [`apply_patch`] turns a stored object and a PATCH body into the new object.
//!
//! # Patch types
//! - `application/merge-patch+json`: RFC 7386 ([`merge_patch()`]).
//! - `application/json-patch+json`: RFC 6902 ([`json_patch()`]); a failed `test` or a
//!   missing path is 422 Invalid; at most [`json_patch::MAX_OPERATIONS`] operations and
//!   [`json_patch::MAX_COPIED_NODES`] copied values.
//! - `application/strategic-merge-patch+json`: as apimachinery's `strategicpatch` applies
//!   it, with merge keys from [`schema`]'s table (see [`list_strategy`]): `null` deletes,
//!   `$patch: replace|delete|merge` in maps and keyed-list elements, `$retainKeys`,
//!   `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`. For a list the table
//!   does not know, a `$setElementOrder` of one-key objects (what kubectl sends) names the
//!   merge key, so kubectl's patches still merge instead of replacing.
//! - `application/apply-patch+yaml`: server-side apply, below. The body may be JSON or YAML.
//!
//! # Server-side apply: the subset implemented
//! - Ownership is tracked per manager in `metadata.managedFields` entries `{manager,
//!   operation, apiVersion, fieldsType: FieldsV1, fieldsV1}`; `fieldsV1` uses Kubernetes'
//!   spelling (`f:<field>`, `k:{"name":"app"}` for keyed-list elements with `"."` when the
//!   element itself is owned, `v:<json>` for set-list values). Keys are the single merge key
//!   of the table (Kubernetes uses two for ports: `containerPort`+`protocol`).
//! - Not tracked: `apiVersion`, `kind`, `status`, and `metadata.name`, `namespace`, `uid`,
//!   `resourceVersion`, `generation`, `creationTimestamp`, `deletionTimestamp`,
//!   `deletionGracePeriodSeconds`, `managedFields`, `selfLink`.
//! - An apply needs `fieldManager`, `apiVersion` and a `kind` equal to the resource's.
//!   With no live object it creates one: the result is the applied object (nulls dropped)
//!   plus its `managedFields` entry.
//! - The applied fields are merged into the live object: objects field by field, keyed
//!   lists element by element (new elements appended), set lists as a union, anything else
//!   (scalars, atomic lists, empty objects) replaced. `null` in the applied object removes
//!   the field and claims nothing.
//! - Conflict: a leaf field the manager applies that another entry (another manager, or the
//!   same manager's `Update` entry) owns, whose live value differs from the applied one
//!   (an absent value differs from any). Equal values are shared without conflict. Without
//!   `force` the apply fails with 409 listing every conflict; with `force` the field
//!   changes hands.
//! - Fields the manager applied last time and no longer applies are removed from the object
//!   unless another entry owns the field or something below it (a dropped keyed-list element
//!   is removed whole when nobody else owns part of it).
//! - The manager's `Apply` entry then owns exactly the applied fields; entries owning
//!   nothing are dropped.
//! - Updates (PUT, POST, the other patch types): [`record_update`] gives the fields a write
//!   changed to its manager's `Update` entry, taking them from other entries without
//!   conflict. [`apply_patch`] calls it for the non-apply types when `field_manager` is set.
//! - Not implemented: `time` (entries this module writes have none; call
//!   [`stamp_managed_fields_time`]), subresource entries (kept but never written),
//!   resetting `status`, field validation, conversion between versions, `dryRun` (the
//!   functions are pure: the caller decides what to store), and multi-key list elements.

mod apply;
mod error;
mod fieldset;
pub mod json_patch;
mod managed;
mod merge_patch;
mod pointer;
pub mod schema;
mod strategic;
mod strategic_list;

#[cfg(test)]
mod tests;

use serde_json::Value;

pub use error::{FieldConflict, PatchError};
pub use fieldset::{FieldPath, PathElement, fields_of, from_fields_v1, to_fields_v1};
pub use json_patch::json_patch;
pub use managed::{record_update, stamp_managed_fields_time};
pub use merge_patch::merge_patch;
pub use schema::{ListStrategy, list_strategy};
pub use strategic::strategic_merge;

/// The patch body formats kube-apiserver accepts, by Content-Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`.
    StrategicMerge,
    /// `application/apply-patch+yaml` (server-side apply; JSON bodies are YAML too).
    Apply,
}

impl PatchType {
    /// The patch type of a Content-Type header (parameters such as `; charset=utf-8` and
    /// case are ignored); None for anything else (415).
    pub fn from_content_type(ct: &str) -> Option<PatchType> {
        let media = ct
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::StrategicMerge),
            "application/apply-patch+yaml" | "application/apply-patch+json" => {
                Some(PatchType::Apply)
            }
            _ => None,
        }
    }

    /// The Content-Type this patch type is sent with.
    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::Json => "application/json-patch+json",
            PatchType::Merge => "application/merge-patch+json",
            PatchType::StrategicMerge => "application/strategic-merge-patch+json",
            PatchType::Apply => "application/apply-patch+yaml",
        }
    }
}

/// The query parameters of a PATCH that matter here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// `?fieldManager=`: required for apply; for the other types, when set, the changed
    /// fields are recorded as this manager's (`Update`).
    pub field_manager: Option<String>,
    /// `?force=true`: an apply takes conflicting fields instead of failing.
    pub force: bool,
}

/// Applies `patch` (raw body bytes) to `original` (the stored object, or `None` when absent —
/// only Apply may create). `kind` is the object's kind (`Deployment`), which tells strategic
/// merge and apply which lists are keyed. The result is always a JSON object.
pub fn apply_patch(
    kind: &str,
    original: Option<&Value>,
    patch: &[u8],
    patch_type: PatchType,
    opts: &ApplyOptions,
) -> Result<Value, PatchError> {
    if patch_type == PatchType::Apply {
        return apply::server_side_apply(kind, original, parse_apply_body(patch)?, opts);
    }
    let original = original.ok_or(PatchError::NotFound)?;
    let body: Value = serde_json::from_slice(patch)
        .map_err(|e| PatchError::bad(format!("the patch body is not valid JSON: {e}")))?;
    let mut doc = original.clone();
    match patch_type {
        PatchType::Json => json_patch(&mut doc, &body)?,
        PatchType::Merge => merge_patch(&mut doc, &body),
        PatchType::StrategicMerge => strategic_merge(kind, &mut doc, body)?,
        PatchType::Apply => {}
    }
    if !doc.is_object() {
        return Err(PatchError::bad("the patched object is not a JSON object"));
    }
    if let Some(manager) = opts.field_manager.as_deref().filter(|m| !m.is_empty()) {
        record_update(kind, Some(original), &mut doc, manager);
    }
    Ok(doc)
}

/// How deeply YAML flow collections (`{`, `[`) may nest: serde_json's own limit. libyaml
/// takes time quadratic in that depth (20,000 nested `{a: ` take seconds), so deeper bodies
/// are refused before parsing. Brackets inside quoted strings count too (harmless: a real
/// object does not hold 128 unclosed brackets).
const MAX_YAML_FLOW_DEPTH: usize = 128;

/// An apply body: JSON (what kubectl sends) or YAML.
fn parse_apply_body(body: &[u8]) -> Result<Value, PatchError> {
    if let Ok(v) = serde_json::from_slice(body) {
        return Ok(v);
    }
    let mut depth = 0usize;
    for b in body {
        match b {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => continue,
        }
        if depth > MAX_YAML_FLOW_DEPTH {
            return Err(PatchError::bad("the apply patch nests too deeply"));
        }
    }
    serde_yaml::from_slice(body)
        .map_err(|e| PatchError::bad(format!("the apply patch is neither JSON nor YAML: {e}")))
}
