//! Three replicas: a 10 MiB module pushed through one by `skiff push` (chunked `PATCH`es, relayed
//! to the others while they arrive, the digest named at the end) and a 3 MiB one by ORAS (one
//! `PUT` whose body that replica relays the same way) and a 2 MiB blob the way docker uploads
//! (one streamed `PATCH` without `Content-Range`, an empty `PUT`); each blob is a file on a
//! majority of the replicas before its push is answered. That replica is killed with SIGKILL;
//! the ORAS module and the docker-style blob are read from a survivor, the big one whole from both, one of them after its blob file was
//! damaged (it refetches the blob from the other survivor instead of serving the damage); then
//! the killed replica restarts and serves it too, and every replica ends with an intact copy.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use http::{Method, StatusCode};
use sha2::Digest as _;
use skiff_tests::{ApiClient, Cluster, Replica, ReplicaOptions, run_bounded};

use crate::support::{OrasTarget, pushed_digest, skiff_push};

/// The blob file of `len` bytes in `replica`'s data directory, once it is there (a replica that
/// was not in a push's quorum fetches it within seconds).
async fn blob_file(replica: &Replica, len: u64) -> anyhow::Result<PathBuf> {
    let root = replica.data_dir.join("registry-blobs/sha256");
    for _ in 0..150 {
        if let Some(found) = find_file(&root, len)? {
            return Ok(found);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("no {len}-byte blob file under {}", root.display())
}

fn find_file(root: &Path, len: u64) -> anyhow::Result<Option<PathBuf>> {
    for fan in std::fs::read_dir(root)? {
        for file in std::fs::read_dir(fan?.path())? {
            let path = file?.path();
            if std::fs::metadata(&path)?.len() == len {
                return Ok(Some(path));
            }
        }
    }
    Ok(None)
}

async fn pull_is(replica: &Replica, reference: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let pulled = OrasTarget::builtin(replica)?.pull(reference).await?;
    anyhow::ensure!(
        std::fs::read(&pulled)? == bytes,
        "{} served other bytes",
        replica.url()
    );
    Ok(())
}

/// Uploads `blob` as docker does: `POST`, one `PATCH` of all of it (no `Content-Range`), and
/// an empty closing `PUT ?digest=`. Returns the digest.
async fn docker_style_push(replica: &Replica, name: &str, blob: &[u8]) -> anyhow::Result<String> {
    let client = ApiClient::admin(replica)?;
    let octets = "application/octet-stream";
    let start = format!("/v2/{name}/blobs/uploads/");
    let started = client
        .send_raw(Method::POST, &start, octets, "*/*", Vec::new())
        .await?;
    anyhow::ensure!(
        started.status == StatusCode::ACCEPTED,
        "POST: {}",
        started.status
    );
    let location = started.location.context("no Location after the POST")?;
    let patched = client
        .send_raw(Method::PATCH, &location, octets, "*/*", blob.to_vec())
        .await?;
    anyhow::ensure!(
        patched.status == StatusCode::ACCEPTED,
        "PATCH: {}",
        patched.status
    );
    let location = patched.location.context("no Location after the PATCH")?;
    let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(blob)));
    let put = format!("{location}?digest={digest}");
    let closed = client
        .send_raw(Method::PUT, &put, octets, "*/*", Vec::new())
        .await?;
    anyhow::ensure!(
        closed.status == StatusCode::CREATED,
        "PUT: {}",
        closed.status
    );
    Ok(digest)
}

async fn blob_is(replica: &Replica, name: &str, digest: &str, blob: &[u8]) -> anyhow::Result<()> {
    let path = format!("/v2/{name}/blobs/{digest}");
    let got = ApiClient::admin(replica)?
        .send_raw(Method::GET, &path, "application/json", "*/*", Vec::new())
        .await?;
    anyhow::ensure!(got.status == StatusCode::OK, "GET {path}: {}", got.status);
    anyhow::ensure!(
        got.body == blob,
        "{} served other bytes for {digest}",
        replica.url()
    );
    Ok(())
}

#[test]
fn a_push_survives_the_loss_of_the_replica_that_took_it() {
    run_bounded("registry-replicas", Duration::from_secs(300), async {
        let mut cluster =
            Cluster::start(3, |i| ReplicaOptions::new(&format!("registry-r{i}"))).await?;
        let dir = skiff_tests::scratch_dir("registry-10mib")?;
        let module = dir.join("big.wasm");
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.extend((0..10 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
        std::fs::write(&module, &bytes)?;
        let first = &cluster.replicas[0];
        let pushed =
            skiff_push(&first.data_dir.join("admin.kubeconfig"), &module, "big:v1").await?;
        anyhow::ensure!(pushed.success, "skiff push failed: {}", pushed.stderr);
        pushed_digest(&pushed)?;
        let small_module = dir.join("small.wasm");
        let small: Vec<u8> = bytes[..3 * 1024 * 1024].iter().map(|b| b ^ 0xa5).collect();
        std::fs::write(&small_module, &small)?;
        OrasTarget::builtin(first)?
            .push("small:v1", &small_module)
            .await?;
        let docker_blob: Vec<u8> = bytes[..2 * 1024 * 1024].iter().map(|b| b ^ 0x3c).collect();
        let docker_digest = docker_style_push(first, "docker", &docker_blob).await?;
        let len = bytes.len() as u64;
        cluster.replicas[0].kill9();
        pull_is(&cluster.replicas[2], "small:v1", &small).await?;
        blob_is(&cluster.replicas[1], "docker", &docker_digest, &docker_blob).await?;

        // Damage the second replica's copy (same length, other bytes): it must not be served.
        let damaged = blob_file(&cluster.replicas[1], len).await?;
        blob_file(&cluster.replicas[2], len).await?;
        std::fs::write(&damaged, vec![0x5a; bytes.len()])?;
        for survivor in &cluster.replicas[1..] {
            pull_is(survivor, "big:v1", &bytes).await?;
        }
        anyhow::ensure!(
            std::fs::read(&damaged)? == bytes,
            "the damaged copy was not replaced by a fetched one"
        );

        cluster.replicas[0].restart().await?;
        pull_is(&cluster.replicas[0], "big:v1", &bytes).await?;
        for replica in &cluster.replicas {
            let file = blob_file(replica, len).await?;
            anyhow::ensure!(
                std::fs::read(&file)? == bytes,
                "{} lost its copy",
                replica.url()
            );
        }
        Ok(())
    });
}
