//! `delete` and `deletecollection`: finalizers and `deletionTimestamp`, graceful deletion of
//! pods bound to a live node, `propagationPolicy` recorded as the garbage collector's
//! finalizers, namespaces that empty themselves, and Service allocations released.

use std::sync::Arc;

use serde_json::{Value, json};
use skiff_api::resources::{self, RESOURCES, ResourceInfo};
use skiff_api::status::ApiError;

use super::objects::resource_version;
use super::request::ResourceRequest;
use super::{ApiServer, meta, services};
use crate::replica::ops::Consistency;
use crate::store::read::ListOptions;
use crate::store::types::Op;

/// Options from a DELETE body (`DeleteOptions`) or query.
#[derive(Default)]
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
            // Already being deleted: a second delete changes nothing.
            return Ok(current);
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
            tokio::spawn(self.clone_handle().empty_namespace_task(name));
        }
        Ok(stored)
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

    /// After an update: an object marked for deletion whose finalizers are all gone is removed.
    pub async fn finish_deletion_if_done(
        &self,
        info: &ResourceInfo,
        stored: &Value,
    ) -> Result<Value, ApiError> {
        if stored["metadata"]["deletionTimestamp"].is_string()
            && finalizers(stored).is_empty()
            && info.kind != "Pod"
        {
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

    /// The namespace controller's job, done inline: delete everything in the namespace, then
    /// the namespace itself. Retries until done, so a busy store only delays it.
    pub async fn empty_namespace(&self, namespace: &str) {
        let namespaces = resources::find("", "v1", "namespaces").expect("namespaces are served");
        for _attempt in 0..600 {
            let mut remaining = 0;
            for info in RESOURCES.iter().filter(|r| r.namespaced) {
                let Ok(page) = self
                    .objects
                    .list(
                        info,
                        Some(namespace),
                        &ListOptions::default(),
                        Consistency::Linearizable,
                    )
                    .await
                else {
                    remaining += 1;
                    continue;
                };
                for obj in page.items {
                    remaining += 1;
                    let force = DeleteOptions {
                        grace_period_seconds: Some(0),
                        ..Default::default()
                    };
                    let mut obj = obj;
                    // Pending finalizers on content would block the namespace forever without
                    // their controllers; skiff's own (GC) finalizers are dropped here.
                    if !finalizers(&obj).is_empty() {
                        obj["metadata"]["finalizers"] = json!([]);
                        let rv = resource_version(&obj).unwrap_or(0);
                        if let Ok(updated) = self.objects.update(info, obj, rv, Vec::new()).await {
                            let _ = self.remove_now(info, &updated).await;
                        }
                        continue;
                    }
                    let _ = self.delete_object(info, obj, &force).await;
                }
            }
            if remaining == 0 {
                if let Ok(Some(ns)) = self
                    .objects
                    .get(namespaces, None, namespace, Consistency::Linearizable)
                    .await
                {
                    let rv = resource_version(&ns).unwrap_or(0);
                    match self.objects.remove(namespaces, &ns, rv, Vec::new()).await {
                        Ok(_) => return,
                        Err(e) if e.code == 404 => return,
                        Err(_) => {}
                    }
                } else {
                    return;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        tracing::warn!(
            namespace,
            "namespace still not empty after two minutes; giving up until the next delete"
        );
    }

    /// `empty_namespace` as a boxed task: naming the future's type breaks the
    /// delete -> empty namespace -> delete cycle the compiler cannot otherwise prove `Send`.
    fn empty_namespace_task(
        self: Arc<Self>,
        namespace: String,
    ) -> futures::future::BoxFuture<'static, ()> {
        Box::pin(async move { self.empty_namespace(&namespace).await })
    }

    fn clone_handle(&self) -> Arc<ApiServer> {
        self.this
            .upgrade()
            .expect("the API server outlives its requests")
    }
}
