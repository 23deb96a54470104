//! The restart counts the agent writes in Pod status, kept for the Prometheus page: the
//! page's `kube_pod_container_status_restarts_total` is what the API shows (as
//! kube-state-metrics reads it from the Pod), which continues across agent restarts (the
//! worker seeds it from the pod's last written status), unlike the runtime's own count of
//! restarts since it created the container.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::PodStatus;

/// Restart counts by pod UID, then container name (init containers included).
#[derive(Debug, Default)]
pub struct RestartCounts {
    by_pod: Mutex<HashMap<String, HashMap<String, i32>>>,
}

impl RestartCounts {
    /// Records the counts `status` carries for the pod `uid` (replacing what it had).
    pub fn record(&self, uid: &str, status: &PodStatus) {
        let counts: HashMap<String, i32> = status
            .init_container_statuses
            .iter()
            .chain(status.container_statuses.iter())
            .flatten()
            .map(|c| (c.name.clone(), c.restart_count))
            .collect();
        skiff_sync::lock(&self.by_pod).insert(uid.to_owned(), counts);
    }

    /// Drops the pod `uid` (its task ended).
    pub fn forget(&self, uid: &str) {
        skiff_sync::lock(&self.by_pod).remove(uid);
    }

    /// The count last written for `container` of pod `uid`, if any.
    pub fn get(&self, uid: &str, container: &str) -> Option<u32> {
        let by_pod = skiff_sync::lock(&self.by_pod);
        let count = *by_pod.get(uid)?.get(container)?;
        u32::try_from(count).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(v: serde_json::Value) -> PodStatus {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn records_replaces_and_forgets() {
        let counts = RestartCounts::default();
        assert_eq!(counts.get("u1", "app"), None, "nothing written yet");
        counts.record(
            "u1",
            &status(json!({
                "initContainerStatuses": [{"name": "init", "restartCount": 1, "image": "i",
                    "imageID": "", "ready": false}],
                "containerStatuses": [{"name": "app", "restartCount": 3, "image": "i",
                    "imageID": "", "ready": true}]})),
        );
        assert_eq!(counts.get("u1", "app"), Some(3));
        assert_eq!(counts.get("u1", "init"), Some(1));
        assert_eq!(counts.get("u2", "app"), None, "another pod");
        counts.record("u1", &status(json!({})));
        assert_eq!(counts.get("u1", "app"), None, "replaced, not merged");
        counts.record(
            "u1",
            &status(
                json!({"containerStatuses": [{"name": "app", "restartCount": 4,
                "image": "i", "imageID": "", "ready": true}]}),
            ),
        );
        counts.forget("u1");
        assert_eq!(counts.get("u1", "app"), None);
    }
}
