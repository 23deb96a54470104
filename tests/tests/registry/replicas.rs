//! Three replicas: a 10 MiB module pushed through one by `skiff push` (chunked `PATCH`es, relayed
//! to the others while they arrive, the digest named at the end) and a 3 MiB one by ORAS (one
//! `PUT` whose body that replica relays the same way); each blob is a file on a majority of the
//! replicas before its push is answered. That replica is killed with SIGKILL; the ORAS module
//! is pulled from a survivor, the big one whole from both, one of them after its blob file was
//! damaged (it refetches the blob from the other survivor instead of serving the damage); then
//! the killed replica restarts and serves it too, and every replica ends with an intact copy.

use std::path::{Path, PathBuf};
use std::time::Duration;

use skiff_tests::{Cluster, Replica, ReplicaOptions, run_bounded};

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
        let len = bytes.len() as u64;
        cluster.replicas[0].kill9();
        pull_is(&cluster.replicas[2], "small:v1", &small).await?;

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
