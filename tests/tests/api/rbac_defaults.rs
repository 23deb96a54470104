//! The default policy on an existing cluster: a default ClusterRole and ClusterRoleBinding
//! that lost their rules and subjects (as a cluster made by an older version would have them)
//! get them back when the server starts again, while a default annotated
//! `rbac.authorization.kubernetes.io/autoupdate: "false"` stays as its administrator left it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use serde_json::json;
use skiff_tests::{ApiClient, Replica};

use crate::rbac_support::RBAC;

/// Every (API group, resource, verb) that `rules` grant.
fn grants(rules: &serde_json::Value) -> BTreeSet<(String, String, String)> {
    let texts = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    let mut all = BTreeSet::new();
    for rule in rules.as_array().into_iter().flatten() {
        for group in texts(&rule["apiGroups"]) {
            for resource in texts(&rule["resources"]) {
                for verb in texts(&rule["verbs"]) {
                    all.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    all
}

/// Strips two defaults, protects one, restarts `replica` and checks the outcome.
pub async fn defaults_reconciled_on_restart(
    replica: &mut Replica,
    admin: &ApiClient,
) -> anyhow::Result<()> {
    let basic = format!("{RBAC}/clusterroles/system:basic-user");
    let binding = format!("{RBAC}/clusterrolebindings/system:basic-user");
    let discovery = format!("{RBAC}/clusterroles/system:discovery");
    let restored = admin.get(&basic).await?.ok()?["rules"].clone();
    ensure!(!grants(&restored).is_empty());
    admin
        .merge_patch(&basic, &json!({"rules": []}))
        .await?
        .ok()?;
    admin
        .merge_patch(
            &binding,
            &json!({"subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "someone"}]}),
        )
        .await?
        .ok()?;
    let protect = json!({"metadata": {"annotations":
        {"rbac.authorization.kubernetes.io/autoupdate": "false"}}, "rules": []});
    admin.merge_patch(&discovery, &protect).await?.ok()?;

    replica.stop().await;
    replica.restart().await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let role = admin.get(&basic).await.and_then(|a| a.ok());
        // Restored as kube restores them: one rule per verb and resource.
        if let Ok(role) = role
            && grants(&role["rules"]) == grants(&restored)
        {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "system:basic-user not given its rules back after a restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let subjects = admin.get(&binding).await?.ok()?["subjects"].clone();
    let names: Vec<&str> = subjects
        .as_array()
        .context("subjects")?
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    ensure!(
        names == ["someone", "system:authenticated"],
        "the missing subject is added, the cluster's own kept: {subjects}"
    );
    let protected = admin.get(&discovery).await?.ok()?;
    ensure!(
        protected["rules"] == json!([]),
        "autoupdate=false is left alone: {protected}"
    );
    Ok(())
}
