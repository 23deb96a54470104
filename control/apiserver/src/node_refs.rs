//! The node authorizer's graph, read on demand: a node may read a ConfigMap or Secret only if
//! a pod bound to it references it (env `valueFrom`, `envFrom`, volumes, projected volumes,
//! and for Secrets `imagePullSecrets`), as Kubernetes' node authorizer allows. Reads are `get`,
//! or a list/watch narrowed to the one name by `fieldSelector=metadata.name=<name>` (the
//! kubelet's per-object watch). A node may also ask for a ServiceAccount token bound to a pod
//! bound to it that runs as that account (the projected token of `kube-api-access-*`).

use serde_json::Value;
use skiff_api::status::ApiError;
use skiff_replica::ops::Consistency;
use skiff_store::ListOptions;

use super::ApiServer;
use super::request::{ResourceRequest, Verb};

/// Which kind of referenced object a request reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum RefKind {
    ConfigMap,
    Secret,
}

impl RefKind {
    pub(crate) fn of(plural: &str) -> Option<RefKind> {
        match plural {
            "configmaps" => Some(RefKind::ConfigMap),
            "secrets" => Some(RefKind::Secret),
            _ => None,
        }
    }
}

/// The one object a node's read names: `get <name>`, or list/watch by `metadata.name=<name>`.
pub(crate) fn read_target(request: &ResourceRequest) -> Option<&str> {
    match request.verb {
        Verb::Get if request.subresource.is_none() => request.name.as_deref(),
        Verb::List | Verb::Watch => request
            .query
            .field_selector
            .as_deref()?
            .strip_prefix("metadata.name="),
        _ => None,
    }
}

/// Whether `pod` references the ConfigMap or Secret `name` (of its own namespace).
pub(crate) fn pod_references(pod: &Value, kind: RefKind, name: &str) -> bool {
    let spec = &pod["spec"];
    let containers = ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .filter_map(|field| spec[*field].as_array())
        .flatten();
    let (key_ref, from_ref, volume, volume_field) = match kind {
        RefKind::ConfigMap => ("configMapKeyRef", "configMapRef", "configMap", "name"),
        RefKind::Secret => ("secretKeyRef", "secretRef", "secret", "secretName"),
    };
    let is = |v: &Value| v.as_str() == Some(name);
    let in_containers = containers.into_iter().any(|c| {
        let env = c["env"].as_array().into_iter().flatten();
        let env_from = c["envFrom"].as_array().into_iter().flatten();
        env.into_iter()
            .any(|e| is(&e["valueFrom"][key_ref]["name"]))
            || env_from.into_iter().any(|e| is(&e[from_ref]["name"]))
    });
    let volumes = spec["volumes"].as_array().into_iter().flatten();
    let in_volumes = volumes.into_iter().any(|v| {
        let projected = v["projected"]["sources"].as_array().into_iter().flatten();
        is(&v[volume][volume_field]) || projected.into_iter().any(|s| is(&s[volume]["name"]))
    });
    let pull_secret = kind == RefKind::Secret
        && spec["imagePullSecrets"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| is(&s["name"]));
    in_containers || in_volumes || pull_secret
}

impl ApiServer {
    /// Whether a pod bound to `node` in `namespace` references `name`. Read from this replica
    /// first; a no is confirmed with a linearizable read (a pod bound a moment ago elsewhere).
    pub(crate) async fn node_pod_references(
        &self,
        node: &str,
        namespace: &str,
        kind: RefKind,
        name: &str,
    ) -> Result<bool, ApiError> {
        let pods = skiff_api::resources::find("", "v1", "pods").expect("pods are served");
        for consistency in [Consistency::Serializable, Consistency::Linearizable] {
            let page = self
                .objects
                .list(pods, Some(namespace), &ListOptions::default(), consistency)
                .await?;
            let found = page.items.iter().any(|pod| {
                pod["spec"]["nodeName"].as_str() == Some(node) && pod_references(pod, kind, name)
            });
            if found {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Whether `node` may ask for a token of ServiceAccount `account` with this TokenRequest
/// `body`: only bound to a pod (`boundObjectRef` kind Pod, and its uid if given) that is bound
/// to the node and runs as that account (Kubernetes' node authorizer and NodeRestriction).
pub(crate) fn token_request_allowed(node: &str, account: &str, body: &Value, pod: &Value) -> bool {
    let bound = &body["spec"]["boundObjectRef"];
    let uid_matches = bound["uid"]
        .as_str()
        .filter(|u| !u.is_empty())
        .is_none_or(|u| pod["metadata"]["uid"].as_str() == Some(u));
    bound["kind"] == "Pod"
        && bound["name"].as_str().is_some()
        && bound["name"] == pod["metadata"]["name"]
        && uid_matches
        && pod["spec"]["nodeName"].as_str() == Some(node)
        && pod["spec"]["serviceAccountName"]
            .as_str()
            .unwrap_or("default")
            == account
}

impl ApiServer {
    /// A node's TokenRequest: allowed when [`token_request_allowed`] with the pod it names.
    pub(crate) async fn node_may_request_token(
        &self,
        node: &str,
        request: &ResourceRequest,
        body: Option<&Value>,
    ) -> Result<bool, ApiError> {
        let (Some(namespace), Some(account), Some(body)) =
            (request.namespace.as_deref(), request.name.as_deref(), body)
        else {
            return Ok(false);
        };
        let Some(pod_name) = body["spec"]["boundObjectRef"]["name"].as_str() else {
            return Ok(false);
        };
        for consistency in [Consistency::Serializable, Consistency::Linearizable] {
            let pod = self
                .objects
                .pod_facts(namespace, pod_name, consistency)
                .await?;
            if pod.is_some_and(|pod| token_request_allowed(node, account, body, &pod.as_object())) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finds_every_kind_of_reference() {
        let pod = json!({"spec": {
            "initContainers": [{"env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm-env", "key": "k"}}}]}],
            "containers": [{"envFrom": [{"secretRef": {"name": "s-from"}}],
                            "env": [{"name": "B", "valueFrom": {"secretKeyRef": {"name": "s-env", "key": "k"}}}]}],
            "volumes": [{"name": "v", "configMap": {"name": "cm-vol"}},
                        {"name": "w", "secret": {"secretName": "s-vol"}},
                        {"name": "p", "projected": {"sources": [{"configMap": {"name": "cm-proj"}}]}}],
            "imagePullSecrets": [{"name": "s-pull"}]
        }});
        let cases = [
            (RefKind::ConfigMap, "cm-env", true),
            (RefKind::ConfigMap, "cm-vol", true),
            (RefKind::ConfigMap, "cm-proj", true),
            (RefKind::ConfigMap, "s-env", false),
            (RefKind::ConfigMap, "other", false),
            (RefKind::Secret, "s-from", true),
            (RefKind::Secret, "s-env", true),
            (RefKind::Secret, "s-vol", true),
            (RefKind::Secret, "s-pull", true),
            (RefKind::Secret, "cm-vol", false),
            (RefKind::Secret, "other", false),
        ];
        for (kind, name, want) in cases {
            assert_eq!(pod_references(&pod, kind, name), want, "{kind:?} {name}");
        }
    }

    #[test]
    fn a_node_gets_tokens_only_for_its_own_pods_accounts() {
        let pod = json!({"metadata": {"name": "p", "uid": "u1"},
                         "spec": {"nodeName": "n1", "serviceAccountName": "robot"}});
        let body = |kind: &str, name: &str, uid: &str| json!({"spec": {"boundObjectRef": {"kind": kind, "name": name, "uid": uid}}});
        let cases = [
            ("n1", "robot", body("Pod", "p", "u1"), true),
            ("n1", "robot", body("Pod", "p", ""), true),
            ("n2", "robot", body("Pod", "p", "u1"), false),
            ("n1", "default", body("Pod", "p", "u1"), false),
            ("n1", "robot", body("Pod", "p", "other-uid"), false),
            ("n1", "robot", body("Secret", "p", "u1"), false),
            ("n1", "robot", body("Pod", "q", "u1"), false),
            ("n1", "robot", json!({"spec": {}}), false),
        ];
        for (node, account, body, allowed) in cases {
            assert_eq!(
                token_request_allowed(node, account, &body, &pod),
                allowed,
                "{node} {account} {body}"
            );
        }
    }
}
