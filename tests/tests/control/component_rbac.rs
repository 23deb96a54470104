//! The scheduler and the controller manager of `skiff server` are authorised by RBAC as the
//! users `system:kube-scheduler` and `system:kube-controller-manager`, through Kubernetes'
//! bootstrap roles: what those identities may and may not do, asked with the real kubectl
//! (`auth can-i --as`, a delete refused with Kubernetes' words), and the running scheduler
//! stopped by RBAC itself: without its ClusterRoleBinding a new pod stays unbound (its binds
//! are refused), and once the binding is back the pod is bound.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;
use skiff_tests::{Kubectl, Replica, ReplicaOptions, run_bounded};

use crate::agent_sim::eventually;
use crate::support::{admin_client, node, register};

const SCHEDULER: &str = "system:kube-scheduler";
const CONTROLLER_MANAGER: &str = "system:kube-controller-manager";

#[test]
fn components_are_authorised_by_their_bootstrap_roles() {
    run_bounded(
        "components_are_authorised_by_their_bootstrap_roles",
        Duration::from_secs(120),
        scenario(),
    );
}

/// `kubectl auth can-i VERB RESOURCE --as=USER` (`pods/binding` asks with `--subresource`):
/// its answer, `yes` or `no`.
async fn can_i(
    kubectl: &Kubectl,
    user: &str,
    verb: &str,
    resource: &str,
) -> anyhow::Result<String> {
    let as_user = format!("--as={user}");
    let subresource;
    let mut args = vec!["auth", "can-i", verb, &as_user];
    match resource.split_once('/') {
        Some((plural, sub)) => {
            subresource = format!("--subresource={sub}");
            args.extend([plural, subresource.as_str()]);
        }
        None => args.push(resource),
    }
    let out = kubectl.run(&args, "").await?;
    anyhow::ensure!(
        !out.stdout.trim().is_empty(),
        "kubectl {args:?}: {}",
        out.stderr
    );
    Ok(out.stdout.trim().to_owned())
}

async fn what_they_may_do(kubectl: &Kubectl) -> anyhow::Result<()> {
    // The default policy is written just after the API first answers.
    eventually(
        "the default policy is in place",
        Duration::from_secs(20),
        || async {
            let got = can_i(kubectl, SCHEDULER, "create", "pods/binding").await?;
            Ok(got == "yes")
        },
    )
    .await?;
    let table = [
        (SCHEDULER, "create", "pods/binding", "yes"),
        (SCHEDULER, "watch", "pods", "yes"),
        (SCHEDULER, "delete", "secrets", "no"),
        (SCHEDULER, "get", "secrets", "no"),
        (SCHEDULER, "create", "deployments.apps", "no"),
        (CONTROLLER_MANAGER, "create", "replicasets.apps", "yes"),
        (CONTROLLER_MANAGER, "create", "pods", "yes"),
        (CONTROLLER_MANAGER, "create", "clusterrolebindings", "no"),
        (CONTROLLER_MANAGER, "impersonate", "users", "no"),
    ];
    for (user, verb, resource, want) in table {
        let got = can_i(kubectl, user, verb, resource).await?;
        anyhow::ensure!(got == want, "{user} {verb} {resource}: {got}, not {want}");
    }
    kubectl
        .ok(&["create", "secret", "generic", "kept", "--from-literal=k=v"])
        .await?;
    let refused = kubectl
        .fails(
            &["delete", "secret", "kept", "--as=system:kube-scheduler"],
            "",
        )
        .await?;
    let want = r#"Error from server (Forbidden): secrets "kept" is forbidden: User "system:kube-scheduler" cannot delete resource "secrets" in API group "" in the namespace "default""#;
    anyhow::ensure!(refused.trim() == want, "{refused}");
    kubectl.ok(&["get", "secret", "kept"]).await?;
    Ok(())
}

fn pod(name: &str) -> anyhow::Result<Pod> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "app.wasm"}]}
    }))?)
}

async fn node_of(pods: &Api<Pod>, name: &str) -> anyhow::Result<Option<String>> {
    Ok(pods.get(name).await?.spec.and_then(|s| s.node_name))
}

/// The running scheduler needs its binding: without it a pod stays unbound, with it the pod
/// is bound.
async fn scheduler_needs_its_binding(client: &Client) -> anyhow::Result<()> {
    register(client, node("n1", "4", "8Gi", json!({}), Some("True"))).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(&PostParams::default(), &pod("before")?).await?;
    eventually(
        "a pod is bound while the scheduler's binding exists",
        Duration::from_secs(30),
        || async { Ok(node_of(&pods, "before").await?.is_some()) },
    )
    .await?;
    let bindings: Api<ClusterRoleBinding> = Api::all(client.clone());
    let mut binding = bindings.get(SCHEDULER).await?;
    bindings.delete(SCHEDULER, &DeleteParams::default()).await?;
    pods.create(&PostParams::default(), &pod("during")?).await?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    anyhow::ensure!(
        node_of(&pods, "during").await?.is_none(),
        "the scheduler bound a pod without any role"
    );
    binding.metadata.resource_version = None;
    binding.metadata.uid = None;
    bindings.create(&PostParams::default(), &binding).await?;
    eventually(
        "the pod is bound once the binding is back",
        Duration::from_secs(40),
        || async { Ok(node_of(&pods, "during").await?.is_some()) },
    )
    .await
}

async fn scenario() -> anyhow::Result<()> {
    let replica = Replica::start(
        ReplicaOptions::new("component-rbac").args(["--leader-elect-lease-duration", "3"]),
    )
    .await?;
    let client = admin_client(&replica).await?;
    let kubectl = Kubectl::for_replica(&replica)?;
    what_they_may_do(&kubectl).await?;
    scheduler_needs_its_binding(&client).await
}
