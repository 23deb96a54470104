//! `delete` and `deletecollection`: finalizers and `deletionTimestamp`, graceful deletion of
//! pods bound to a live node, `propagationPolicy` recorded as the garbage collector's
//! finalizers, namespaces that empty themselves, and Service allocations released.

mod namespace;

use serde_json::{Value, json};
use skiff_api::resources::{self, ResourceInfo};
use skiff_api::status::ApiError;

use super::objects::resource_version;
use super::request::ResourceRequest;
use super::{ApiServer, meta, services};
use skiff_replica::ops::Consistency;
use skiff_store::types::Op;

/// Options from a DELETE body (`DeleteOptions`) or query.
#[derive(Clone, Default)]
pub struct DeleteOptions {
    pub propagation_policy: Option<String>,
    pub grace_period_seconds: Option<i64>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
}

impl DeleteOptions {
    pub fn from(request: &ResourceRequest, body: Option<&Value>) -> DeleteOptions {
        let body = body.cloned().unwrap_or(Value::Null);
        DeleteOptions {
            propagation_policy: body["propagationPolicy"]
                .as_str()
                .map(str::to_owned)
                .or(request.query.propagation_policy.clone()),
            grace_period_seconds: body["gracePeriodSeconds"]
                .as_i64()
                .or(request.query.grace_period_seconds),
            precondition_uid: body["preconditions"]["uid"].as_str().map(str::to_owned),
            precondition_rv: body["preconditions"]["resourceVersion"]
                .as_str()
                .map(str::to_owned),
        }
    }
}

/// Namespaces Kubernetes refuses to delete.
const PROTECTED_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_owned))
        .collect()
}

/// Rounds a delete without a resourceVersion precondition gets when writes race it.
const DELETE_ATTEMPTS: u32 = 5;

impl ApiServer {
    pub async fn delete(
        &self,
        request: &ResourceRequest,
        options: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let info = request.info;
        let name = request.name.clone().unwrap_or_default();
        if info.kind == "Namespace" && PROTECTED_NAMESPACES.contains(&name.as_str()) {
            let mut e = ApiError::forbidden(format!(
                "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
            ));
            e.kind = Some("namespaces".into());
            e.name = Some(name);
            return Err(e);
        }
        // A write that lands between our read and our delete (a controller updating the
        // status) must not fail a delete that named no resourceVersion: read and try again,
        // as kube-apiserver's GuaranteedUpdate does.
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.delete_once(request, &name, options).await {
                Err(e)
                    if e.reason == "Conflict"
                        && options.precondition_rv.is_none()
                        && attempts < DELETE_ATTEMPTS => {}
                other => return other,
            }
        }
    }

    /// One read-check-delete round of [`ApiServer::delete`].
    async fn delete_once(
        &self,
        request: &ResourceRequest,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let info = request.info;
        let name = name.to_owned();
        let current = self
            .objects
            .must_get(info, request.namespace.as_deref(), &name)
            .await?;
        if options
            .precondition_uid
            .as_deref()
            .is_some_and(|uid| current["metadata"]["uid"].as_str() != Some(uid))
        {
            return Err(ApiError::conflict(&info.group_resource(), &name));
        }
        if options
            .precondition_rv
            .as_deref()
            .is_some_and(|rv| current["metadata"]["resourceVersion"].as_str() != Some(rv))
        {
            return Err(ApiError::conflict(&info.group_resource(), &name));
        }
        if request.query.dry_run {
            return Ok(current);
        }
        self.delete_object(info, current, options).await
    }

    /// Deletes now, or marks for deletion when finalizers, the GC policy or a grace period wait.
    pub async fn delete_object(
        &self,
        info: &ResourceInfo,
        current: Value,
        options: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let mut finals = finalizers(&current);
        match options.propagation_policy.as_deref() {
            Some("Foreground") if !finals.iter().any(|f| f == "foregroundDeletion") => {
                finals.push("foregroundDeletion".into())
            }
            Some("Orphan") if !finals.iter().any(|f| f == "orphan") => finals.push("orphan".into()),
            _ => {}
        }
        let graceful = info.kind == "Pod" && self.pod_needs_grace(&current, options).await;
        let is_namespace = info.kind == "Namespace";
        if finals.is_empty() && !graceful && !is_namespace {
            return self.remove_now(info, &current).await;
        }
        if current["metadata"]["deletionTimestamp"].is_string() {
            // Already being deleted: a second delete only shortens a pod's grace period.
            return self.shorten_grace(info, current, options).await;
        }
        let mut marked = current.clone();
        marked["metadata"]["deletionTimestamp"] = json!(meta::now_rfc3339());
        if !finals.is_empty() {
            marked["metadata"]["finalizers"] = json!(finals);
        }
        if graceful {
            let grace = options
                .grace_period_seconds
                .or(current["spec"]["terminationGracePeriodSeconds"].as_i64())
                .unwrap_or(30);
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
        }
        if is_namespace {
            marked["status"]["phase"] = json!("Terminating");
        }
        let rv = resource_version(&current).unwrap_or(0);
        let stored = self.objects.update(info, marked, rv, Vec::new()).await?;
        if is_namespace {
            let name = stored["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let revision = resource_version(&stored).unwrap_or(0);
            self.namespaces
                .mark_terminating(&info.key(None, &name), revision);
            self.spawn_empty_namespace(name);
        }
        Ok(stored)
    }

    /// A second delete of a pod in graceful deletion with a shorter grace period (the agent's
    /// grace-0 delete once its containers stopped) records it, so that removing the last
    /// finalizer then removes the pod. Anything else is left as it is.
    async fn shorten_grace(
        &self,
        info: &ResourceInfo,
        current: Value,
        options: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let (Some(grace), Some(now)) = (
            options.grace_period_seconds,
            current["metadata"]["deletionGracePeriodSeconds"].as_i64(),
        ) else {
            return Ok(current);
        };
        if info.kind != "Pod" || grace >= now {
            return Ok(current);
        }
        let mut shortened = current.clone();
        shortened["metadata"]["deletionGracePeriodSeconds"] = json!(grace.max(0));
        let rv = resource_version(&current).unwrap_or(0);
        self.objects.update(info, shortened, rv, Vec::new()).await
    }

    /// A pod bound to a Ready node is stopped by its agent first; any other pod goes at once.
    async fn pod_needs_grace(&self, pod: &Value, options: &DeleteOptions) -> bool {
        if options.grace_period_seconds == Some(0) {
            return false;
        }
        let Some(node) = pod["spec"]["nodeName"].as_str() else {
            return false;
        };
        let nodes = resources::find("", "v1", "nodes").expect("nodes are served");
        let Ok(Some(node)) = self
            .objects
            .get(nodes, None, node, Consistency::Serializable)
            .await
        else {
            return false;
        };
        node["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    }

    async fn remove_now(&self, info: &ResourceInfo, current: &Value) -> Result<Value, ApiError> {
        let extra: Vec<Op> = if info.kind == "Service" {
            services::allocation_keys(current)
                .into_iter()
                .map(Op::delete)
                .collect()
        } else {
            Vec::new()
        };
        let rv = resource_version(current).unwrap_or(0);
        self.objects.remove(info, current, rv, extra).await
    }

    /// After an update: an object marked for deletion whose finalizers are all gone is removed,
    /// unless it is still in a graceful deletion (a pod whose kubelet has not yet deleted it
    /// with grace 0), as the generic registry's `ShouldDeleteDuringUpdate` decides.
    pub async fn finish_deletion_if_done(
        &self,
        info: &ResourceInfo,
        stored: &Value,
    ) -> Result<Value, ApiError> {
        let meta = &stored["metadata"];
        let grace_over = meta["deletionGracePeriodSeconds"]
            .as_i64()
            .is_none_or(|g| g == 0);
        if meta["deletionTimestamp"].is_string() && finalizers(stored).is_empty() && grace_over {
            return self.remove_now(info, stored).await;
        }
        Ok(stored.clone())
    }

    pub async fn delete_collection(
        &self,
        request: &ResourceRequest,
        options: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let (items, list_meta) = self.list(request).await?;
        let mut deleted = Vec::new();
        for item in items {
            if request.query.dry_run {
                deleted.push(item);
                continue;
            }
            match self.delete_object(request.info, item, options).await {
                Ok(obj) => deleted.push(obj),
                Err(e) if e.code == 404 || e.code == 409 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(super::reads::list_object(request.info, deleted, list_meta))
    }
}
