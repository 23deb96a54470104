//! ClusterRole aggregation as a reconcile loop in the API server (Kubernetes runs it in the
//! controller manager; here it lives beside the policy cache that already watches every
//! ClusterRole): on each policy change, every ClusterRole with an `aggregationRule` gets the
//! rules of the ClusterRoles its selectors match. Idempotent: a role already holding its rules
//! is not written; a conflicting write (another replica did the same) is retried on the next
//! change.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use skiff_api::rbac::{Policy, aggregated_rules};
use skiff_api::status::ApiError;
use tokio_util::sync::CancellationToken;

use super::cache::PolicyCache;
use crate::objects::{ObjectStore, resource_version};

/// Changes arriving together are handled in one pass.
const SETTLE: Duration = Duration::from_millis(50);
/// A pass that failed (no leader yet) is tried again after this long.
const RETRY: Duration = Duration::from_millis(500);

/// What one pass must write: `(ClusterRole name, rules)` for each aggregated role whose stored
/// rules differ from what its selectors gather.
pub(crate) fn pending_aggregations(policy: &Policy) -> Vec<(String, Vec<Value>)> {
    let all = policy.cluster_roles();
    all.iter()
        .filter_map(|(name, role)| {
            let wanted = aggregated_rules(role, all)?;
            if role.rules.as_deref().unwrap_or_default() == wanted.as_slice() {
                return None;
            }
            let rules = wanted.iter().filter_map(|r| serde_json::to_value(r).ok());
            Some((name.clone(), rules.collect()))
        })
        .collect()
}

/// Writes `rules` into ClusterRole `name` if it is still there.
async fn write_rules(objects: &ObjectStore, name: &str, rules: Vec<Value>) -> Result<(), ApiError> {
    let info = skiff_api::resources::find(skiff_api::rbac::GROUP, "v1", "clusterroles")
        .ok_or_else(|| ApiError::internal("clusterroles are not served"))?;
    let Some(mut role) = objects
        .get(
            info,
            None,
            name,
            skiff_replica::ops::Consistency::Linearizable,
        )
        .await?
    else {
        return Ok(());
    };
    let revision = resource_version(&role).unwrap_or(0);
    role["rules"] = json!(rules);
    objects
        .update(info, role, revision, Vec::new())
        .await
        .map(drop)
}

/// Keeps aggregated ClusterRoles filled until `shutdown`.
pub(crate) async fn run_aggregation(
    cache: Arc<PolicyCache>,
    objects: ObjectStore,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = cache.changed.notified() => {}
        }
        tokio::time::sleep(SETTLE).await;
        let Ok(policy) = cache.policy(&objects.replica).await else {
            continue;
        };
        let mut failed = false;
        for (name, rules) in pending_aggregations(&policy) {
            if let Err(e) = write_rules(&objects, &name, rules).await {
                tracing::debug!("aggregating ClusterRole {name}: {e}");
                failed = true;
            }
        }
        if failed {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(RETRY) => cache.changed.notify_one(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use skiff_api::rbac::bootstrap;

    use super::*;

    fn names(policy: &Policy) -> Vec<String> {
        pending_aggregations(policy)
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    #[test]
    fn passes_converge_and_then_write_nothing() {
        let mut policy = Policy::default();
        for (plural, obj) in bootstrap::objects() {
            policy.insert(plural, &obj);
        }
        assert_eq!(names(&policy), ["admin", "edit", "view"]);
        // Each pass writes what the roles gather now (edit gathers view's rules once view has
        // them, admin edit's): a few passes, then none.
        let mut passes = 0;
        while !names(&policy).is_empty() {
            for (name, rules) in pending_aggregations(&policy) {
                let mut role = policy.cluster_roles()[&name].clone();
                role.rules = serde_json::from_value(json!(rules)).unwrap();
                policy.insert("clusterroles", &serde_json::to_value(role).unwrap());
            }
            passes += 1;
            assert!(
                passes <= 3,
                "aggregation does not converge: {:?}",
                names(&policy)
            );
        }
        let rules = |name: &str| {
            policy.cluster_roles()[name]
                .rules
                .clone()
                .unwrap_or_default()
        };
        let (view, edit, admin) = (rules("view"), rules("edit"), rules("admin"));
        assert!(view.iter().all(|r| edit.contains(r)), "edit holds view");
        assert!(edit.iter().all(|r| admin.contains(r)), "admin holds edit");
        assert!(admin.len() > edit.len() && edit.len() > view.len());
    }
}
