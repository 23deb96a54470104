//! The few fields of a stored pod that a node's authorisation and a token's binding read
//! (its name, uid, node and service account), decoded from the stored bytes without the rest.
//!
//! Every pod start makes a node read its pod twice for the TokenRequest of the pod's token
//! volume and once to authorise its status write. Decoding each whole pod into a
//! `serde_json::Value` for four fields was ~3% of `skiff up`'s CPU in a burst of 1,000 pods
//! (bench/README.md, issue 14); serde skips what these structs do not name.

use serde::Deserialize;
use serde_json::{Value, json};
use skiff_api::status::ApiError;
use skiff_replica::ops::Consistency;

use crate::objects::ObjectStore;

/// What authorisation and token binding know of one pod.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
pub(crate) struct PodFacts {
    #[serde(default)]
    pub metadata: FactsMeta,
    #[serde(default)]
    pub spec: FactsSpec,
}

#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
pub(crate) struct FactsMeta {
    pub name: Option<String>,
    pub uid: Option<String>,
}

#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FactsSpec {
    pub node_name: Option<String>,
    pub service_account_name: Option<String>,
}

impl PodFacts {
    /// The facts as the sparse pod object the node rules take (`auth::authorize`,
    /// `node_refs::token_request_allowed`): only the fields present.
    pub(crate) fn as_object(&self) -> Value {
        let mut pod = json!({"metadata": {}, "spec": {}});
        let fields = [
            ("metadata", "name", &self.metadata.name),
            ("metadata", "uid", &self.metadata.uid),
            ("spec", "nodeName", &self.spec.node_name),
            (
                "spec",
                "serviceAccountName",
                &self.spec.service_account_name,
            ),
        ];
        for (part, field, value) in fields {
            if let Some(value) = value {
                pod[part][field] = Value::String(value.clone());
            }
        }
        pod
    }

    /// The service account the pod runs as (`default` when unset).
    pub(crate) fn service_account(&self) -> &str {
        self.spec
            .service_account_name
            .as_deref()
            .unwrap_or("default")
    }
}

impl ObjectStore {
    /// The facts of pod `namespace/name`, if it exists.
    pub(crate) async fn pod_facts(
        &self,
        namespace: &str,
        name: &str,
        consistency: Consistency,
    ) -> Result<Option<PodFacts>, ApiError> {
        let pods = skiff_api::resources::find("", "v1", "pods")
            .ok_or_else(|| ApiError::internal("pods are not served"))?;
        let Some(kv) = self
            .get_stored(pods, Some(namespace), name, consistency)
            .await?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&kv.value)
            .map(Some)
            .map_err(|e| ApiError::internal(format!("stored object {} is not a pod: {e}", kv.key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_the_four_fields_and_gives_them_back_sparse() {
        let stored = json!({
            "metadata": {"name": "web", "uid": "u-1", "labels": {"a": "b"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Running"}
        });
        let facts: PodFacts = serde_json::from_value(stored).unwrap();
        assert_eq!(facts.service_account(), "default");
        assert_eq!(
            facts.as_object(),
            json!({"metadata": {"name": "web", "uid": "u-1"}, "spec": {"nodeName": "n1"}})
        );
        let bare: PodFacts = serde_json::from_value(json!({})).unwrap();
        assert_eq!(bare, PodFacts::default());
        assert_eq!(bare.as_object(), json!({"metadata": {}, "spec": {}}));
    }

    #[test]
    fn names_the_account_it_runs_as() {
        let facts: PodFacts =
            serde_json::from_value(json!({"spec": {"serviceAccountName": "builder"}})).unwrap();
        assert_eq!(facts.service_account(), "builder");
    }
}
