//! The namespaces every cluster has, and the default RBAC policy, created at start.

use crate::ApiServer;
use crate::request::{self, ResourceRequest, Verb};

/// Namespaces every cluster has.
const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

impl ApiServer {
    /// Creates the system namespaces and the default RBAC policy where missing; retries until
    /// a leader accepts the writes.
    pub async fn ensure_system_namespaces(&self) {
        let info =
            skiff_api::resources::find("", "v1", "namespaces").expect("namespaces are served");
        let request = ResourceRequest {
            verb: Verb::Create,
            info,
            namespace: None,
            name: None,
            subresource: None,
            query: request::Query::default(),
        };
        for name in SYSTEM_NAMESPACES {
            for _attempt in 0..100 {
                let ns = serde_json::json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": name } });
                match self.create(&request, ns).await {
                    Ok(_) => break,
                    Err(e) if e.reason == "AlreadyExists" => break,
                    Err(e) => {
                        tracing::debug!("creating namespace {name}: {e}; retrying");
                        tokio::select! {
                            _ = self.shutdown.cancelled() => return,
                            _ = tokio::time::sleep(std::time::Duration::from_millis(300)) => {}
                        }
                    }
                }
            }
        }
        for _attempt in 0..100 {
            if self.ensure_default_policy().await {
                return;
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = tokio::time::sleep(std::time::Duration::from_millis(300)) => {}
            }
        }
    }
}
