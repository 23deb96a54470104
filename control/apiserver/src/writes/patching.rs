//! `PATCH`: the four patch flavours and server-side apply, read-patch-write with retries
//! when a write it did not pin to a revision loses a race.

use serde_json::Value;
use skiff_api::patch::{self, ApplyOptions, PatchType};
use skiff_api::status::ApiError;

use super::{UNPINNED_RETRIES, Written, pause_after_lost_race};
use crate::ApiServer;
use crate::body::BodySchema;
use crate::objects::resource_version;
use crate::request::ResourceRequest;
use skiff_replica::ops::Consistency;

impl ApiServer {
    /// `PATCH` in any of the four flavours; server-side apply creates absent objects.
    ///
    /// The first try patches this replica's own copy, as kube-apiserver's GuaranteedUpdate
    /// starts from its watch cache: the write is conditional on the copy's revision, so a
    /// stale copy only loses the race. Whatever else that try would answer (not found, an
    /// error, no change) is believed only from a quorum read, which every later try uses.
    pub async fn patch(
        &self,
        request: &ResourceRequest,
        body: &[u8],
        content_type: &str,
    ) -> Result<Written, ApiError> {
        let info = request.info;
        let name = request.name.clone().unwrap_or_default();
        let patch_type = PatchType::from_content_type(content_type)
            .ok_or_else(|| ApiError::unsupported_media_type(content_type))?;
        let patch = PatchRequest {
            request,
            name: &name,
            body,
            patch_type,
            options: ApplyOptions {
                field_manager: request.query.field_manager.clone(),
                force: request.query.force,
            },
        };
        if let Ok(PatchTry::Written(written)) =
            self.try_patch(&patch, Consistency::Serializable).await
        {
            return Ok(written);
        }
        for attempt in 0..=UNPINNED_RETRIES {
            pause_after_lost_race(attempt).await;
            match self.try_patch(&patch, Consistency::Linearizable).await? {
                PatchTry::Written(written) => return Ok(written),
                PatchTry::LostRace | PatchTry::Unsure => {}
            }
        }
        Err(ApiError::conflict(&info.group_resource(), &name))
    }

    /// One read-patch-write of [`ApiServer::patch`], reading with `consistency`.
    async fn try_patch(
        &self,
        patch: &PatchRequest<'_>,
        consistency: Consistency,
    ) -> Result<PatchTry, ApiError> {
        let PatchRequest {
            request,
            name,
            body,
            patch_type,
            options,
        } = patch;
        let info = request.info;
        let local_copy = consistency == Consistency::Serializable;
        let current = self
            .objects
            .get(info, request.namespace.as_deref(), name, consistency)
            .await?;
        let Some(current) = current else {
            if local_copy {
                return Ok(PatchTry::Unsure);
            }
            if *patch_type != PatchType::Apply {
                return Err(ApiError::not_found(&info.group_resource(), name));
            }
            let mut obj = patch::apply_patch(info.kind, None, body, *patch_type, options)
                .map_err(|e| e.to_api_error(&info.group_resource(), name))?;
            obj["metadata"]["name"] = Value::String((*name).to_owned());
            return Ok(PatchTry::Written(self.create(request, obj).await?));
        };
        let patched = patch::apply_patch(info.kind, Some(&current), body, *patch_type, options)
            .map_err(|e| e.to_api_error(&info.group_resource(), name))?;
        let warnings = self.check_fields(request, &patched, BodySchema::Unchecked)?;
        let pinned = patched["metadata"]["resourceVersion"].as_str()
            != current["metadata"]["resourceVersion"].as_str();
        if pinned {
            return Err(ApiError::conflict(&info.group_resource(), name));
        }
        let object = match self.replace(request, &current, patched).await {
            Err(e) if e.reason == "Conflict" => return Ok(PatchTry::LostRace),
            Err(e) => return Err(e),
            Ok(object) => object,
        };
        if local_copy && resource_version(&object) == resource_version(&current) {
            // Nothing was written (no change, or a dry run): the copy may be behind.
            return Ok(PatchTry::Unsure);
        }
        Ok(PatchTry::Written(Written {
            object,
            created: false,
            warnings,
        }))
    }
}

/// What a `PATCH` asks for, shared by its tries.
struct PatchRequest<'a> {
    request: &'a ResourceRequest,
    name: &'a str,
    body: &'a [u8],
    patch_type: PatchType,
    options: ApplyOptions,
}

/// How one try of a `PATCH` ended.
enum PatchTry {
    Written(Written),
    /// The object moved between the read and the write: try again.
    LostRace,
    /// A try from this replica's copy that would not change anything or found nothing:
    /// only a quorum read can tell.
    Unsure,
}
