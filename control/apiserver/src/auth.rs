//! Who is calling, and the node rules. Bearer tokens only: the admin token; node tokens and
//! service-account tokens, both kept as Secrets in the store (as Kubernetes' bootstrap and
//! legacy service-account tokens are) and looked up in the `tokens` index; and the signed,
//! expiring service-account tokens of the TokenRequest API. The node rules (Kubernetes' node
//! authorizer) let nodes touch their own Node, their own Lease in `kube-node-lease`, and pods
//! bound to them; everything else, for everyone, is RBAC's to decide (`rbac`).

use serde_json::Value;
use skiff_api::rbac::{self, UserInfo};
use skiff_api::status::ApiError;

use super::objects::ObjectStore;
use super::request::{ResourceRequest, Verb};
use super::tokens::{self, Lookup, TokenIndex};
use skiff_pki::ct_eq;
use skiff_replica::ops::Consistency;
use skiff_store::ListOptions;

/// Secret type of a node's token; `data.node-name` names the node (base64, as all secret data).
pub(crate) const NODE_TOKEN_TYPE: &str = "skiff.io/node-token";
/// Secret type of a service account's token (`metadata.annotations` name the account).
pub(crate) const SA_TOKEN_TYPE: &str = "kubernetes.io/service-account-token";
/// Namespace holding node token Secrets.
pub(crate) const TOKEN_NAMESPACE: &str = "kube-system";

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Identity {
    Admin,
    /// The scheduler or the controller manager of this replica's process, with a per-process
    /// token (as k3s gives its embedded components credentials of their own). RBAC authorises
    /// them as the users `system:kube-scheduler` and `system:kube-controller-manager`, through
    /// the bootstrap roles of those names (and the controller roles, `rbac::controller_roles`).
    Component(Component),
    Node(String),
    ServiceAccount {
        namespace: String,
        name: String,
    },
    /// A user known only through impersonation (`kubectl --as`): a name and groups.
    User {
        name: String,
        groups: Vec<String>,
    },
}

impl Identity {
    /// The user name and groups RBAC sees: the admin is in `system:masters`, nodes in
    /// `system:nodes`, service accounts in `system:serviceaccounts[:<namespace>]`, everyone in
    /// `system:authenticated`.
    pub(crate) fn user_info(&self) -> UserInfo {
        let groups: &[&str] = match self {
            Identity::Admin => &[rbac::SYSTEM_MASTERS, rbac::AUTHENTICATED],
            Identity::Component(_) => &[rbac::AUTHENTICATED],
            Identity::Node(_) => &[rbac::NODES, rbac::AUTHENTICATED],
            Identity::ServiceAccount { namespace, name } => {
                return UserInfo::service_account(namespace, name);
            }
            Identity::User { name, groups } => {
                return UserInfo {
                    name: name.clone(),
                    groups: groups.clone(),
                };
            }
        };
        UserInfo::new(self.user_name(), groups)
    }

    pub(crate) fn user_name(&self) -> String {
        match self {
            Identity::Admin => "skiff-admin".into(),
            Identity::Component(c) => c.user_name().into(),
            Identity::Node(n) => format!("system:node:{n}"),
            Identity::ServiceAccount { namespace, name } => {
                format!("system:serviceaccount:{namespace}:{name}")
            }
            Identity::User { name, .. } => name.clone(),
        }
    }
}

/// A control-plane component that runs inside `skiff server` and calls its API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    Scheduler,
    ControllerManager,
}

impl Component {
    pub(crate) const ALL: [Component; 2] = [Component::Scheduler, Component::ControllerManager];

    /// The user name Kubernetes gives this component.
    pub fn user_name(self) -> &'static str {
        match self {
            Component::Scheduler => "system:kube-scheduler",
            Component::ControllerManager => "system:kube-controller-manager",
        }
    }
}

/// The bearer token of an `Authorization` header value.
pub(crate) fn bearer(header: Option<&[u8]>) -> Option<&[u8]> {
    header?
        .strip_prefix(b"Bearer ")
        .map(|t| t.trim_ascii())
        .filter(|t| !t.is_empty())
}

/// The tokens known without the store: the admin's and this process's components'.
pub(crate) struct FixedTokens {
    pub(crate) admin: String,
    pub(crate) components: Vec<(Component, String)>,
}

impl FixedTokens {
    /// The admin token, and a fresh random token per component.
    pub(crate) fn new(admin: String) -> Self {
        let components = Component::ALL
            .iter()
            .map(|c| (*c, skiff_pki::generate_bearer_token()))
            .collect();
        FixedTokens { admin, components }
    }

    fn find(&self, token: &[u8]) -> Option<Identity> {
        // Every token is compared, so the time taken does not say which one matched.
        let admin = ct_eq(token, self.admin.as_bytes());
        let component = self
            .components
            .iter()
            .filter(|(_, t)| ct_eq(token, t.as_bytes()))
            .map(|(c, _)| *c)
            .next_back();
        match (admin, component) {
            (true, _) => Some(Identity::Admin),
            (false, Some(c)) => Some(Identity::Component(c)),
            (false, None) => None,
        }
    }

    pub(crate) fn component(&self, which: Component) -> &str {
        self.components
            .iter()
            .find(|(c, _)| *c == which)
            .map(|(_, t)| t.as_str())
            .unwrap_or_default()
    }
}

/// Resolves a token to an identity; `None` is 401. Node and service-account tokens come from
/// the in-memory token index; only a token the index does not know (or an index not yet in
/// sync) costs a store read, linearizable so a token Secret just created through another
/// replica is found. Those reads run one at a time, and a token they did not find is refused
/// without another read for a second.
pub(crate) async fn authenticate(
    token: &[u8],
    fixed: &FixedTokens,
    index: &TokenIndex,
    objects: &ObjectStore,
) -> Result<Option<Identity>, ApiError> {
    if let Some(identity) = fixed.find(token) {
        return Ok(Some(identity));
    }
    let lookup = index.lookup(token);
    if let Lookup::Found(identity) = lookup {
        return Ok(Some(identity));
    }
    if lookup == Lookup::Unknown && index.recent_miss(token) {
        return Ok(None);
    }
    let _turn = index.store_read_turn().await;
    // The read before ours may have settled this token while we waited.
    match index.lookup(token) {
        Lookup::Found(identity) => return Ok(Some(identity)),
        Lookup::Unknown if index.recent_miss(token) => return Ok(None),
        _ => {}
    }
    index.note_store_lookup();
    let secrets = skiff_api::resources::find("", "v1", "secrets").expect("secrets are served");
    let page = objects
        .list(
            secrets,
            None,
            &ListOptions::default(),
            Consistency::Linearizable,
        )
        .await?;
    let found = page
        .items
        .iter()
        .filter_map(tokens::token_of)
        .find(|(stored, _)| ct_eq(token, stored))
        .map(|(_, identity)| identity);
    // Only a miss seen with the index in sync is remembered: the index then finds a token
    // created later as soon as this replica applies it.
    if found.is_none() && lookup == Lookup::Unknown {
        index.note_miss(token);
    }
    Ok(found)
}

/// Decides whether `who` may make `request`. `object` is the stored target (when it exists),
/// used to check which node a pod is bound to.
pub(crate) fn authorize(
    who: &Identity,
    request: &ResourceRequest,
    object: Option<&Value>,
    body: Option<&Value>,
) -> Result<(), ApiError> {
    let node = match who {
        Identity::Admin => return Ok(()),
        // The node rules have no opinion on components and service accounts: RBAC decides.
        Identity::Component(_) | Identity::ServiceAccount { .. } | Identity::User { .. } => {
            return Err(forbidden(who, request));
        }
        Identity::Node(node) => node,
    };
    if node_may(node, request, object, body) {
        Ok(())
    } else {
        Err(forbidden(who, request))
    }
}

/// The node rules: whether node `node` may make `request` (`object`: the stored target,
/// `body`: the decoded body of a write).
fn node_may(
    node: &str,
    request: &ResourceRequest,
    object: Option<&Value>,
    body: Option<&Value>,
) -> bool {
    let name = request.name.as_deref();
    match request.info.plural {
        // Writes and gets only of its own Node. Every Node may be listed and watched: the
        // overlay (`node/overlay`) routes pod IPs by each Node's podCIDR, address and overlay
        // port (Kubernetes' `system:node` role lists and watches all Nodes too).
        "nodes" => match request.verb {
            Verb::List | Verb::Watch => true,
            Verb::Create => body_name(body) == Some(node),
            _ => name == Some(node),
        },
        "leases" => {
            request.namespace.as_deref() == Some("kube-node-lease")
                && (name == Some(node)
                    || (request.verb == Verb::Create && body_name(body) == Some(node)))
        }
        // No node may evict, not even its own pods (Kubernetes' node authorizer and
        // NodeRestriction would let a kubelet evict pods bound to it; skiff's agent has no use
        // for it, and eviction is for drains and controllers acting as admin).
        "pods" if request.subresource.as_deref() == Some("eviction") => false,
        "pods" => match request.verb {
            // Listing and watching are allowed only for the node's own pods.
            Verb::List | Verb::Watch => {
                request.query.field_selector.as_deref() == Some(&format!("spec.nodeName={node}"))
            }
            _ => object.is_some_and(|o| o["spec"]["nodeName"].as_str() == Some(node)),
        },
        // Scale-to-zero (`node/proxy`): a connection held by the node proxy wakes a
        // Deployment marked for scale-to-zero, and only while it has 0 replicas.
        "deployments" if request.subresource.as_deref() == Some("scale") => {
            request.verb == Verb::Patch && object.is_some_and(asleep)
        }
        // ConfigMaps and Secrets only when a pod of this node references them: decided by the
        // caller (`node_refs`), which reads the pods; refused here.
        // NetworkPolicies and Namespaces (their labels): the overlay enforces the policies
        // (`node/overlay/src/policy.rs`); read-only, as Calico's and Cilium's node agents.
        "services" | "endpoints" | "endpointslices" | "namespaces" | "networkpolicies" => {
            matches!(request.verb, Verb::Get | Verb::List | Verb::Watch)
        }
        // Patch: a repeated event bumps the count of the one posted before (system:node may).
        "events" => matches!(request.verb, Verb::Create | Verb::Patch),
        _ => false,
    }
}

/// The Deployment annotation that marks it for scale-to-zero (its idle time): set by users,
/// read by the scale-to-zero controller (`control/controllers`) and the node proxy.
const SCALE_TO_ZERO_ANNOTATION: &str = "skiff.io/scale-to-zero-idle";

/// A Deployment marked for scale-to-zero and scaled to zero.
fn asleep(deployment: &Value) -> bool {
    deployment["metadata"]["annotations"][SCALE_TO_ZERO_ANNOTATION].is_string()
        && deployment["spec"]["replicas"].as_i64() == Some(0)
}

fn body_name(body: Option<&Value>) -> Option<&str> {
    body?["metadata"]["name"].as_str()
}

/// Kubernetes' 403 for a request: `pods is forbidden: User "u" cannot list resource "pods"
/// in API group "" in the namespace "ns"` (`pods "web" is forbidden: ...` for a named object).
pub(crate) fn forbidden(who: &Identity, request: &ResourceRequest) -> ApiError {
    let why = crate::rbac::attributes_of(who, request).forbidden_message();
    let resource = request.info.group_resource();
    let mut e = ApiError::forbidden(match request.name.as_deref() {
        Some(name) if !name.is_empty() => format!("{resource} {name:?} is forbidden: {why}"),
        _ => format!("{resource} is forbidden: {why}"),
    });
    e.kind = Some(request.info.plural.to_owned());
    e.name = request.name.clone();
    e
}
