//! The core/v1 ReplicationController: the ReplicaSet decision (`replicaset`) on an
//! equality-based selector, as kube-controller-manager runs the same code for both.

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::{Pod, ReplicationController, ReplicationControllerStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::jiff::Timestamp;

use crate::Error;
use crate::common::{controller_owner, name_of, uid_of};

/// What to do for one ReplicationController (see [`crate::replicaset::ReplicaSetPlan`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplicationControllerPlan {
    pub create: Vec<Pod>,
    pub delete: Vec<String>,
    pub adopt: Vec<String>,
    pub release: Vec<String>,
    pub status: ReplicationControllerStatus,
}

/// Plans the pods of `rc`; a missing or empty selector is the template's labels (the API
/// server's default).
pub fn reconcile(
    rc: &ReplicationController,
    pods: &[impl std::borrow::Borrow<Pod>],
    now: Timestamp,
) -> Result<ReplicationControllerPlan, Error> {
    let name = name_of(&rc.metadata, "ReplicationController")?;
    let uid = uid_of(&rc.metadata, "ReplicationController")?;
    let spec = rc.spec.clone().unwrap_or_default();
    let template_labels = spec
        .template
        .as_ref()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone());
    let selector = spec.selector.filter(|s| !s.is_empty()).or(template_labels);
    let as_rs = ReplicaSet {
        metadata: rc.metadata.clone(),
        spec: Some(ReplicaSetSpec {
            replicas: spec.replicas,
            min_ready_seconds: spec.min_ready_seconds,
            selector: LabelSelector {
                match_labels: selector,
                match_expressions: None,
            },
            template: spec.template,
        }),
        status: None,
    };
    let plan = crate::replicaset::reconcile(&as_rs, pods, now)?;
    let owner = controller_owner("v1", "ReplicationController", name, uid);
    let create = plan
        .create
        .into_iter()
        .map(|mut p| {
            p.metadata.owner_references = Some(vec![owner.clone()]);
            p
        })
        .collect();
    let s = plan.status;
    Ok(ReplicationControllerPlan {
        create,
        delete: plan.delete,
        adopt: plan.adopt,
        release: plan.release,
        status: ReplicationControllerStatus {
            replicas: s.replicas,
            fully_labeled_replicas: s.fully_labeled_replicas,
            ready_replicas: s.ready_replicas,
            available_replicas: s.available_replicas,
            observed_generation: s.observed_generation,
            conditions: rc.status.as_ref().and_then(|st| st.conditions.clone()),
        },
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::reconcile;
    use crate::testutil::{St, T0, at, from, pod};

    #[test]
    fn a_replication_controller_runs_like_a_replicaset() {
        let rc = from(
            json!({"metadata": {"name": "old", "namespace": "default", "uid": "rc-uid"},
            "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "old"}},
                "spec": {"containers": [{"name": "c", "image": "x.wasm"}]}}}}),
        );
        let pods = vec![pod("orphan", json!({"app": "old"}), None, St::Ready(T0))];
        let plan = reconcile(&rc, &pods, at(T0)).expect("plan");
        assert_eq!(
            (plan.create.len(), plan.adopt.clone()),
            (1, vec!["orphan".to_string()])
        );
        let owner = &plan.create[0]
            .metadata
            .owner_references
            .as_ref()
            .expect("owner")[0];
        assert_eq!(
            (owner.api_version.as_str(), owner.kind.as_str()),
            ("v1", "ReplicationController")
        );
        assert_eq!(
            (plan.status.replicas, plan.status.ready_replicas),
            (1, Some(1))
        );
    }
}
