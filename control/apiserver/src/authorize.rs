//! Authorisation of a request by someone other than the admin and this process's
//! components: the node rules first for nodes (with the stored pod, the ConfigMap or Secret
//! reference, or the TokenRequest's bound pod they need), then RBAC.

use skiff_api::status::ApiError;
use skiff_replica::ops::Consistency;

use crate::auth::{self, Identity};
use crate::node_graph::GraphAnswer;
use crate::request::{ResourceRequest, Verb};
use crate::{ApiServer, node_refs};

impl ApiServer {
    /// Authorises a caller other than the admin and this process's components: the node rules
    /// first for nodes, then RBAC. Only a node's request for a named pod needs the stored
    /// object (which node it is bound to); that is read from this replica, as Kubernetes' node
    /// authorizer reads its informer graph, and confirmed with a linearizable read only when the
    /// local copy says no (a binding made a moment ago through another replica).
    pub(crate) async fn authorize(
        &self,
        identity: &Identity,
        resource: &ResourceRequest,
        body: Option<&serde_json::Value>,
    ) -> Result<(), ApiError> {
        if matches!(identity, Identity::Node(_)) {
            match self.authorize_node(identity, resource, body).await {
                Err(e) if e.code == 403 => {}
                decided => return decided,
            }
        }
        self.authorize_by_rbac(identity, resource).await
    }

    /// The node rules (Kubernetes' node authorizer): a 403 means they do not allow the request,
    /// and RBAC decides.
    pub(crate) async fn authorize_node(
        &self,
        identity: &Identity,
        resource: &ResourceRequest,
        body: Option<&serde_json::Value>,
    ) -> Result<(), ApiError> {
        if let Identity::Node(node) = identity
            && resource.info.plural == "serviceaccounts"
            && resource.subresource.as_deref() == Some("token")
        {
            let allowed = resource.verb == Verb::Create
                && self.node_may_request_token(node, resource, body).await?;
            return if allowed {
                Ok(())
            } else {
                Err(auth::forbidden(identity, resource))
            };
        }
        if let (Identity::Node(node), Some(kind)) =
            (identity, node_refs::RefKind::of(resource.info.plural))
        {
            return self
                .authorize_node_ref(identity, node, kind, resource)
                .await;
        }
        // A Deployment whose scale a node patches (scale-to-zero's wake-up) is read too.
        let wakes = resource.info.plural == "deployments"
            && resource.subresource.as_deref() == Some("scale");
        let needs_target = matches!(identity, Identity::Node(_))
            && (resource.info.plural == "pods" || wakes)
            && resource.verb != Verb::Create;
        let Some(name) = resource.name.as_deref().filter(|_| needs_target) else {
            return auth::authorize(identity, resource, None, body);
        };
        let local = self
            .node_target(resource, name, Consistency::Serializable)
            .await?;
        let first = auth::authorize(identity, resource, local.as_ref(), body);
        if first.is_ok() {
            return first;
        }
        let current = self
            .node_target(resource, name, Consistency::Linearizable)
            .await?;
        auth::authorize(identity, resource, current.as_ref(), body)
    }

    /// What the node rules read of the object a node names: a pod's facts only (its node),
    /// a Deployment whole.
    async fn node_target(
        &self,
        resource: &ResourceRequest,
        name: &str,
        consistency: Consistency,
    ) -> Result<Option<serde_json::Value>, ApiError> {
        let namespace = resource.namespace.as_deref();
        if resource.info.group.is_empty() && resource.info.plural == "pods" {
            let facts = self
                .objects
                .pod_facts(namespace.unwrap_or_default(), name, consistency)
                .await?;
            return Ok(facts.map(|pod| pod.as_object()));
        }
        self.objects
            .get(resource.info, namespace, name, consistency)
            .await
    }
}

impl ApiServer {
    /// A node reading a ConfigMap or Secret: allowed only for one that a pod bound to it
    /// references. The graph answers from memory; a "no" is confirmed from the store, since
    /// the graph may not have seen a pod bound a moment ago.
    pub(crate) async fn authorize_node_ref(
        &self,
        identity: &Identity,
        node: &str,
        kind: node_refs::RefKind,
        resource: &ResourceRequest,
    ) -> Result<(), ApiError> {
        let (Some(namespace), Some(name)) = (
            resource.namespace.as_deref(),
            node_refs::read_target(resource),
        ) else {
            return Err(auth::forbidden(identity, resource));
        };
        // The cluster CA bundle every namespace carries (each pod's `kube-api-access-*`
        // volume projects it) is no secret and every node holds it already. Every pod start
        // reads it at once after its binding, often before the graph has seen the binding,
        // and each such miss would list the namespace's pods (measured: a burst of 1,000 pods
        // 10x slower).
        if kind == node_refs::RefKind::ConfigMap && name == ROOT_CA_CONFIGMAP {
            return Ok(());
        }
        if self.node_graph.lookup(node, kind, namespace, name) == GraphAnswer::Referenced
            || self
                .node_pod_references(node, namespace, kind, name)
                .await?
        {
            return Ok(());
        }
        Err(auth::forbidden(identity, resource))
    }
}

/// The ConfigMap with the cluster CA in every namespace (`kube-root-ca.crt`).
const ROOT_CA_CONFIGMAP: &str = crate::sa_admission::ROOT_CA_CONFIGMAP;
