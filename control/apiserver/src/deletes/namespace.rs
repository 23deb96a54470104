//! Emptying a namespace being deleted, as Kubernetes' namespace controller does, but inline:
//! delete everything it holds, then the namespace itself.

use std::sync::Arc;

use serde_json::json;
use skiff_api::resources::{self, RESOURCES, ResourceInfo};

use super::{DeleteOptions, finalizers};
use crate::ApiServer;
use crate::objects::resource_version;
use skiff_replica::ops::Consistency;
use skiff_store::ListOptions;

impl ApiServer {
    /// The namespace controller's job, done inline: delete everything in the namespace, then
    /// the namespace itself. Retries until done, so a busy store only delays it; ends early
    /// when the server shuts down.
    pub async fn empty_namespace(&self, namespace: &str) {
        for _attempt in 0..600 {
            if self.empty_namespace_once(namespace).await {
                return;
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
            }
        }
        tracing::warn!(
            namespace,
            "namespace still not empty after two minutes; giving up until the next delete"
        );
    }

    /// One pass over the namespace: deletes what it holds, and the namespace itself once it
    /// is empty. True when there is nothing left to do.
    async fn empty_namespace_once(&self, namespace: &str) -> bool {
        let mut remaining = 0;
        for info in RESOURCES.iter().filter(|r| r.namespaced) {
            remaining += self.delete_contents(info, namespace).await;
        }
        if remaining > 0 {
            return false;
        }
        let namespaces = resources::find("", "v1", "namespaces").expect("namespaces are served");
        let ns = match self
            .objects
            .get(namespaces, None, namespace, Consistency::Linearizable)
            .await
        {
            Ok(Some(ns)) => ns,
            Ok(None) => return true,
            Err(e) => {
                tracing::warn!(
                    namespace,
                    "reading the namespace to remove it: {e}; giving up"
                );
                return true;
            }
        };
        let rv = resource_version(&ns).unwrap_or(0);
        match self.objects.remove(namespaces, &ns, rv, Vec::new()).await {
            Ok(_) => true,
            Err(e) if e.code == 404 => true,
            Err(e) => {
                tracing::debug!(namespace, "removing the namespace: {e}; retrying");
                false
            }
        }
    }

    /// Deletes the objects of one kind in `namespace`; how many there were (1 if the list
    /// failed, so the namespace is not taken for empty).
    async fn delete_contents(&self, info: &ResourceInfo, namespace: &str) -> usize {
        let listed = self
            .objects
            .list(
                info,
                Some(namespace),
                &ListOptions::default(),
                Consistency::Linearizable,
            )
            .await;
        let page = match listed {
            Ok(page) => page,
            Err(e) => {
                tracing::debug!(
                    namespace,
                    kind = info.kind,
                    "listing to empty: {e}; retrying"
                );
                return 1;
            }
        };
        let count = page.items.len();
        for mut obj in page.items {
            // Pending finalizers on content would block the namespace forever without
            // their controllers; skiff's own (GC) finalizers are dropped here.
            let result = if finalizers(&obj).is_empty() {
                let force = DeleteOptions {
                    grace_period_seconds: Some(0),
                    ..Default::default()
                };
                self.delete_object(info, obj, &force).await
            } else {
                obj["metadata"]["finalizers"] = json!([]);
                let rv = resource_version(&obj).unwrap_or(0);
                match self.objects.update(info, obj, rv, Vec::new()).await {
                    Ok(updated) => self.remove_now(info, &updated).await,
                    Err(e) => Err(e),
                }
            };
            if let Err(e) = result {
                tracing::debug!(
                    namespace,
                    kind = info.kind,
                    "deleting to empty: {e}; retrying"
                );
            }
        }
        count
    }

    /// `empty_namespace` as a boxed task: naming the future's type breaks the
    /// delete -> empty namespace -> delete cycle the compiler cannot otherwise prove `Send`.
    fn empty_namespace_task(
        self: Arc<Self>,
        namespace: String,
    ) -> futures::future::BoxFuture<'static, ()> {
        Box::pin(async move { self.empty_namespace(&namespace).await })
    }

    /// Starts emptying `namespace` (then removing it) as a task of this server.
    pub(super) fn spawn_empty_namespace(&self, namespace: String) {
        self.tasks
            .spawn(self.clone_handle().empty_namespace_task(namespace));
    }

    /// This server as an `Arc`, for a task that outlives the request.
    fn clone_handle(&self) -> Arc<ApiServer> {
        self.this
            .upgrade()
            .expect("the API server outlives its requests")
    }
}
