//! The agent's API client against a real replica: a replica it cannot reach is skipped (the
//! request goes to the next one at once, which becomes current), the client stays with the
//! replica that answers, and a new list keeps the current replica current.

use std::time::Duration;

use anyhow::ensure;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::runtime::{WatchStreamExt, watcher};
use skiff_agent::credential::Credential;
use skiff_tests::{Replica, ReplicaOptions, free_port, run_bounded};

#[test]
fn the_agent_client_skips_a_replica_it_cannot_reach() {
    run_bounded("client_failover", Duration::from_secs(120), async {
        let replica = Replica::start(ReplicaOptions::new("fleet-client")).await?;
        // Nothing listens there: connections are refused.
        let dead = format!("https://127.0.0.1:{}", free_port()?);
        let live = replica.url();
        let credential = Credential {
            node_name: "client-test".into(),
            token: std::fs::read_to_string(replica.data_dir.join("admin-token"))?
                .trim()
                .into(),
            servers: vec![dead.clone(), live.clone()],
            ca_cert: std::fs::read_to_string(replica.data_dir.join("pki/ca.crt"))?,
        };
        let (client, replicas) = skiff_agent::client::client(&credential, None)?;
        ensure!(replicas.current() == dead, "{replicas:?}");

        // The first request is refused by the dead one and answered by the live one.
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let default = namespaces.get("default").await?;
        ensure!(default.metadata.name.as_deref() == Some("default"));
        ensure!(replicas.current() == live, "{replicas:?}");

        // A watch (as the agent's watchers make them) runs on the live replica.
        let config = watcher::Config::default().fields("metadata.name=default");
        let mut events = std::pin::pin!(watcher(namespaces.clone(), config).applied_objects());
        let first = tokio::time::timeout(Duration::from_secs(20), events.next()).await?;
        ensure!(
            matches!(first, Some(Ok(ref ns)) if ns.metadata.name.as_deref() == Some("default"))
        );

        // A new list (dead one first again) keeps the live replica current.
        replicas.set(&[dead.clone(), live.clone()])?;
        namespaces.get("kube-system").await?;
        ensure!(replicas.current() == live, "{replicas:?}");
        ensure!(replicas.urls() == vec![dead, live]);
        Ok(())
    });
}
