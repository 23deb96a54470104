//! What the controller manager sets up for others: pod CIDRs for Nodes (one /24 each of
//! 10.244.0.0/16, distinct, kept; a deleted node's range reused; a node registered again
//! under its name gets one), and ServiceAccounts with tokens the API server accepts (the
//! `default` account of a new namespace, bound to `view` there, reads its own namespace with its
//! token, is refused another by name, and comes back when deleted), a token filled into a token Secret made by
//! hand, and an account's token Secret collected with the account.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{Api, DeleteParams, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, ResourceExt};
use serde_json::json;
use skiff_controller_manager::ManagerConfig;
use skiff_tests::{kubeconfig_for, run_bounded};

use crate::agent_sim::{Manager, eventually};
use crate::support::{create, node, one_replica, register};

const LIMIT: Duration = Duration::from_secs(20);
const TOKEN_TYPE: &str = "kubernetes.io/service-account-token";

#[test]
fn nodes_get_distinct_stable_pod_cidrs() {
    run_bounded("pod_cidrs", Duration::from_secs(90), pod_cidrs());
}

#[test]
fn namespaces_get_service_accounts_with_working_tokens() {
    run_bounded("service_accounts", Duration::from_secs(90), accounts());
}

async fn cidrs(client: &Client) -> anyhow::Result<Vec<(String, Option<String>, Vec<String>)>> {
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    Ok(nodes
        .items
        .into_iter()
        .map(|n| {
            let spec = n.spec.clone().unwrap_or_default();
            (
                n.name_any(),
                spec.pod_cidr,
                spec.pod_cidrs.unwrap_or_default(),
            )
        })
        .collect())
}

async fn pod_cidrs() -> anyhow::Result<()> {
    let (_replica, client) = one_replica("cidrs").await?;
    let manager = Manager::start(&client);
    for name in ["a", "b", "c"] {
        register(&client, node(name, "4", "8Gi", json!({}), Some("True"))).await?;
    }
    eventually("three nodes with pod CIDRs", LIMIT, || async {
        Ok(cidrs(&client).await?.iter().all(|(_, c, _)| c.is_some()))
    })
    .await?;
    let first = cidrs(&client).await?;
    let distinct: BTreeSet<_> = first.iter().filter_map(|(_, c, _)| c.clone()).collect();
    let want: BTreeSet<String> = (0..3).map(|i| format!("10.244.{i}.0/24")).collect();
    anyhow::ensure!(distinct == want, "pod CIDRs {first:?}");
    for (name, cidr, list) in &first {
        anyhow::ensure!(
            list == &cidr.clone().into_iter().collect::<Vec<_>>(),
            "{name}: podCIDRs {list:?}"
        );
    }
    let freed = first
        .iter()
        .find(|(n, _, _)| n == "b")
        .and_then(|(_, c, _)| c.clone());
    Api::<Node>::all(client.clone())
        .delete("b", &DeleteParams::default())
        .await?;
    register(&client, node("d", "4", "8Gi", json!({}), Some("True"))).await?;
    eventually("node d with a pod CIDR", LIMIT, || async {
        Ok(cidrs(&client)
            .await?
            .iter()
            .any(|(n, c, _)| n == "d" && c.is_some()))
    })
    .await?;
    let now = cidrs(&client).await?;
    let of = |name: &str, list: &[(String, Option<String>, Vec<String>)]| {
        list.iter()
            .find(|(n, _, _)| n == name)
            .and_then(|(_, c, _)| c.clone())
    };
    anyhow::ensure!(
        of("d", &now) == freed,
        "d got {:?}, not b's freed {freed:?}",
        of("d", &now)
    );
    for name in ["a", "c"] {
        anyhow::ensure!(
            of(name, &now) == of(name, &first),
            "{name}'s pod CIDR changed"
        );
    }
    // A node deleted and registered again under its name is a new node: it gets a CIDR.
    Api::<Node>::all(client.clone())
        .delete("a", &DeleteParams::default())
        .await?;
    register(&client, node("a", "4", "8Gi", json!({}), Some("True"))).await?;
    eventually("node a again with a pod CIDR", LIMIT, || async {
        Ok(of("a", &cidrs(&client).await?).is_some())
    })
    .await?;
    manager.stop().await
}

/// The token Secrets of ServiceAccount `sa` in `ns`.
async fn tokens(client: &Client, ns: &str, sa: &str) -> anyhow::Result<Vec<Secret>> {
    let secrets = Api::<Secret>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await?;
    Ok(secrets
        .items
        .into_iter()
        .filter(|s| s.type_.as_deref() == Some(TOKEN_TYPE))
        .filter(|s| {
            s.annotations()
                .get("kubernetes.io/service-account.name")
                .map(String::as_str)
                == Some(sa)
        })
        .collect())
}

fn data(secret: &Secret, key: &str) -> Option<Vec<u8>> {
    secret.data.as_ref()?.get(key).map(|b| b.0.clone())
}

async fn accounts() -> anyhow::Result<()> {
    let (replica, client) = one_replica("accounts").await?;
    let ca = std::fs::read(replica.data_dir.join("pki").join("ca.crt"))?;
    let config = ManagerConfig {
        root_ca: Some(ca.clone()),
        ..ManagerConfig::default()
    };
    let manager = Manager::start_with(&client, config);
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "team"}}))?;
    Api::<Namespace>::all(client.clone())
        .create(&Default::default(), &ns)
        .await?;
    eventually("team/default and its token", LIMIT, || async {
        let t = tokens(&client, "team", "default").await?;
        Ok(t.len() == 1 && data(&t[0], "token").is_some())
    })
    .await?;
    let secret = tokens(&client, "team", "default").await?.remove(0);
    let token = String::from_utf8(data(&secret, "token").unwrap_or_default())?;
    anyhow::ensure!(
        token.len() == 64 && token.chars().all(|c| c.is_ascii_hexdigit()),
        "token {token:?}"
    );
    anyhow::ensure!(
        data(&secret, "ca.crt") == Some(ca),
        "ca.crt is not the cluster CA"
    );
    anyhow::ensure!(data(&secret, "namespace") == Some(b"team".to_vec()));
    // RBAC grants a service account nothing by default: bind `view` in its own namespace.
    create::<RoleBinding>(
        &client,
        "team",
        json!({"metadata": {"name": "default-view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "team"}]}),
    )
    .await?;
    let sa_client = client_with_token(&replica, &token).await?;
    // The binding reaches the policy cache through its watch a moment after it commits (as in
    // Kubernetes, whose e2e framework waits for it the same way).
    let team_pods = Api::<Pod>::namespaced(sa_client.clone(), "team");
    eventually("the team token lists team's pods", LIMIT, || async {
        match team_pods.list(&ListParams::default()).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 403 => Ok(false),
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    let refused = Api::<Pod>::namespaced(sa_client, "default")
        .list(&ListParams::default())
        .await;
    let message = match refused {
        Err(kube::Error::Api(s)) if s.code == 403 => s.message,
        other => anyhow::bail!("another namespace with the team token: {other:?}"),
    };
    anyhow::ensure!(
        message.contains("system:serviceaccount:team:default"),
        "refused as: {message}"
    );
    hand_made_and_collected(&client).await?;
    // A deleted default account comes back.
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "team");
    let old_uid = accounts.get("default").await?.uid();
    accounts.delete("default", &DeleteParams::default()).await?;
    eventually("team/default made again", LIMIT, || async {
        let now = accounts.get_opt("default").await?;
        Ok(now.is_some_and(|sa| sa.uid() != old_uid))
    })
    .await?;
    manager.stop().await
}

/// A token Secret made by hand gets its token; an account's own token goes with it.
async fn hand_made_and_collected(client: &Client) -> anyhow::Result<()> {
    create::<ServiceAccount>(client, "team", json!({"metadata": {"name": "robot"}})).await?;
    create::<Secret>(
        client,
        "team",
        json!({"metadata": {"name": "manual",
        "annotations": {"kubernetes.io/service-account.name": "robot"}}, "type": TOKEN_TYPE}),
    )
    .await?;
    eventually("robot's two tokens filled", LIMIT, || async {
        let t = tokens(client, "team", "robot").await?;
        Ok(t.len() == 2 && t.iter().all(|s| data(s, "token").is_some()))
    })
    .await?;
    Api::<ServiceAccount>::namespaced(client.clone(), "team")
        .delete("robot", &DeleteParams::default())
        .await?;
    eventually(
        "robot's own token collected, the hand-made one kept",
        LIMIT,
        || async {
            let t = tokens(client, "team", "robot").await?;
            Ok(t.len() == 1 && t[0].name_any() == "manual")
        },
    )
    .await
}

/// A kube client for `replica` that authenticates with `token` only.
async fn client_with_token(replica: &skiff_tests::Replica, token: &str) -> anyhow::Result<Client> {
    let path = kubeconfig_for(replica, &replica.url())?;
    let mut config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(&path)?,
        &KubeConfigOptions::default(),
    )
    .await?;
    config.auth_info = kube::config::AuthInfo {
        token: Some(token.to_string().into()),
        ..Default::default()
    };
    Ok(Client::try_from(config)?)
}
