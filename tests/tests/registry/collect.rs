//! Garbage collection on three replicas, with the collection shortened to every second and a
//! grace of five (`SKIFF_REGISTRY_GC_SECONDS`, `SKIFF_REGISTRY_GC_GRACE_SECONDS`): two modules
//! pushed, one manifest deleted; its layer leaves the store and every replica's files, while
//! the other module's layer stays on every replica and is still served by each.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, ensure};
use bytes::Bytes;
use http::{Method, StatusCode};
use skiff_tests::fleet::poll;
use skiff_tests::{ApiClient, Cluster, Replica, ReplicaOptions, run_bounded};

use crate::support::{example, pushed_digest, skiff_push};

/// How long the blobs may take to appear on, or leave, every replica (a replica outside a
/// push's quorum fetches its copy, and one outside the collection sweeps its own, within the
/// 10 s of a convergence pass).
const SPREAD: Duration = Duration::from_secs(60);

/// Where `replica` keeps the blob file of `digest` (`sha256:<hex>`).
fn blob_path(replica: &Replica, digest: &str) -> PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    let fan = hex.get(..2).unwrap_or("00");
    replica
        .data_dir
        .join("registry-blobs/sha256")
        .join(fan)
        .join(hex)
}

/// Pushes the example guest `guest` as `reference`; the digests of its manifest and of its one
/// layer.
async fn push_layer(
    replica: &Replica,
    guest: &str,
    reference: &str,
) -> anyhow::Result<(String, String)> {
    let kubeconfig = replica.data_dir.join("admin.kubeconfig");
    let pushed = skiff_push(&kubeconfig, &example(guest)?, reference).await?;
    ensure!(pushed.success, "skiff push failed: {}", pushed.stderr);
    let manifest = pushed_digest(&pushed)?;
    let repo = reference.split(':').next().unwrap_or_default();
    let answer = ApiClient::admin(replica)?
        .get(&format!("/v2/{repo}/manifests/{manifest}"))
        .await?
        .ok()?;
    let layer = answer["layers"][0]["digest"]
        .as_str()
        .context("no layer digest")?;
    Ok((manifest, layer.to_owned()))
}

/// Whether every replica holds (or, with `present` false, lacks) the file of `digest`.
fn on_every_replica(cluster: &Cluster, digest: &str, present: bool) -> bool {
    cluster
        .replicas
        .iter()
        .all(|r| blob_path(r, digest).exists() == present)
}

#[test]
fn unreferenced_blobs_leave_every_replica_and_referenced_ones_stay() {
    run_bounded("registry-gc", Duration::from_secs(240), async {
        let options = |i| {
            ReplicaOptions::new(&format!("registry-gc{i}"))
                .env("SKIFF_REGISTRY_GC_SECONDS", "1")
                .env("SKIFF_REGISTRY_GC_GRACE_SECONDS", "5")
        };
        let cluster = Cluster::start(3, options).await?;
        let first = &cluster.replicas[0];
        let (manifest, gone) = push_layer(first, "http-hello", "gone:v1").await?;
        let (_, kept) = push_layer(first, "http-server", "kept:v1").await?;
        poll("both layers on every replica", SPREAD, || async {
            Ok(on_every_replica(&cluster, &gone, true) && on_every_replica(&cluster, &kept, true))
        })
        .await?;

        let admin = ApiClient::admin(first)?;
        let deleted = admin
            .send(
                Method::DELETE,
                &format!("/v2/gone/manifests/{manifest}"),
                "application/json",
                Bytes::new(),
            )
            .await?;
        ensure!(deleted.status == StatusCode::ACCEPTED, "{deleted:?}");
        let gone_blob = format!("/v2/gone/blobs/{gone}");
        poll("the unreferenced layer collected", SPREAD, || async {
            let answer = admin.get(&gone_blob).await?;
            Ok(answer.status == StatusCode::NOT_FOUND && on_every_replica(&cluster, &gone, false))
        })
        .await?;

        ensure!(
            on_every_replica(&cluster, &kept, true),
            "a referenced layer's file was removed"
        );
        for replica in &cluster.replicas {
            let answer = ApiClient::admin(replica)?
                .get(&format!("/v2/kept/blobs/{kept}"))
                .await?;
            ensure!(
                answer.status == StatusCode::OK,
                "{}: {answer:?}",
                replica.url()
            );
        }
        Ok(())
    });
}
