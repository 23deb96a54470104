//! Three replicas: a 10 MiB module pushed through one, that replica killed, the module pulled
//! whole from another (its blob chunks were replicated before the push was answered).

use std::time::Duration;

use skiff_tests::{Cluster, ReplicaOptions, run_bounded};

use crate::support::{OrasTarget, pushed_digest, skiff_push};

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
        cluster.replicas[0].kill9();
        for survivor in &cluster.replicas[1..] {
            let pulled = OrasTarget::builtin(survivor)?.pull("big:v1").await?;
            anyhow::ensure!(
                std::fs::read(&pulled)? == bytes,
                "{} served other bytes",
                survivor.url()
            );
        }
        Ok(())
    });
}
