//! Tests of `patch`: table-driven examples per patch type and property tests that no input panics.

mod apply;
mod json;
mod props;
mod strategic;

use serde_json::Value;

use super::{ApplyOptions, PatchError, PatchType, apply_patch};

/// `apply_patch` with a JSON body and no field manager.
fn patch(
    kind: &str,
    original: &Value,
    body: &Value,
    patch_type: PatchType,
) -> Result<Value, PatchError> {
    let body = serde_json::to_vec(body).expect("serialisable");
    apply_patch(
        kind,
        Some(original),
        &body,
        patch_type,
        &ApplyOptions::default(),
    )
}
