//! The default policy at every start, as kube-apiserver's `ensureRBACPolicy`: each default
//! ClusterRole and ClusterRoleBinding is created where missing, and a stored one is
//! reconciled with this version's (`skiff_api::rbac::reconcile`: missing rules, selectors,
//! subjects, labels and annotations added; `autoupdate: "false"` left alone), so a cluster
//! made by an older skiff gets the rules a newer one needs.

use serde_json::Value;
use skiff_api::rbac::bootstrap;
use skiff_api::rbac::reconcile::{Reconciled, reconcile_default};
use skiff_api::resources::ResourceInfo;
use skiff_api::status::ApiError;
use skiff_replica::ops::Consistency;

use crate::ApiServer;
use crate::objects::resource_version;
use crate::request::{Query, ResourceRequest, Verb};

fn request(info: &'static ResourceInfo, verb: Verb, name: Option<String>) -> ResourceRequest {
    ResourceRequest {
        verb,
        info,
        namespace: None,
        name,
        subresource: None,
        query: Query::default(),
    }
}

impl ApiServer {
    /// Creates or reconciles each object of the default policy. Returns false if some write
    /// failed (no leader yet, or another replica wrote first): the caller retries.
    pub(crate) async fn ensure_default_policy(&self) -> bool {
        let mut all_done = true;
        for (plural, obj) in bootstrap::objects() {
            let Some(info) = skiff_api::resources::find(skiff_api::rbac::GROUP, "v1", plural)
            else {
                continue;
            };
            if let Err(e) = self.ensure_default(info, obj).await {
                tracing::debug!("reconciling the default {plural}: {e}; retrying");
                all_done = false;
            }
        }
        all_done
    }

    /// One default object: created, updated, recreated or left as it is.
    async fn ensure_default(
        &self,
        info: &'static ResourceInfo,
        expected: Value,
    ) -> Result<(), ApiError> {
        let name = expected["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let stored = self
            .objects
            .get(info, None, &name, Consistency::Linearizable)
            .await?;
        let Some(existing) = stored else {
            return match self
                .create(&request(info, Verb::Create, None), expected)
                .await
            {
                Err(e) if e.reason != "AlreadyExists" => Err(e),
                _ => Ok(()),
            };
        };
        match reconcile_default(&expected, &existing) {
            Reconciled::Unchanged | Reconciled::Protected => Ok(()),
            Reconciled::Update(updated) => {
                tracing::info!("updating the default {} {name}", info.kind);
                let update = request(info, Verb::Update, Some(name));
                self.update(&update, updated).await.map(drop)
            }
            Reconciled::Recreate(replacement) => {
                tracing::info!("recreating the default {} {name} (roleRef)", info.kind);
                let rv = resource_version(&existing).unwrap_or(0);
                self.objects.remove(info, &existing, rv, Vec::new()).await?;
                self.create(&request(info, Verb::Create, None), replacement)
                    .await
                    .map(drop)
            }
        }
    }
}
