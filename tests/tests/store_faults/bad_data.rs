//! Damaged data directories: a replica whose state database, Raft log or cluster CA is corrupt
//! or truncated refuses to start with one error line naming the file, and leaves the file
//! byte-identical; with the original bytes put back it starts again and still has its data.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, ensure};
use skiff_tests::{Replica, ReplicaOptions, run_bounded};

#[test]
fn corrupt_store_and_pki_files_are_refused_untouched() {
    run_bounded(
        "corrupt_files_refused",
        Duration::from_secs(120),
        scenario(),
    );
}

/// How a case damages its file.
enum Damage {
    /// Overwrite every byte with pseudo-random garbage (same length).
    Garbage,
    /// Keep the first half.
    Truncate,
}

async fn scenario() -> anyhow::Result<()> {
    let mut replica = Replica::start(ReplicaOptions::new("corrupt")).await?;
    let client = replica.client()?;
    for i in 0..20 {
        client.put(&format!("keep/{i}"), "v").await?;
    }
    let cases = [
        ("store/state.redb", Damage::Garbage),
        ("store/raft-log.redb", Damage::Truncate),
        ("store/raft-log.redb", Damage::Garbage),
        ("pki/ca.crt", Damage::Garbage),
    ];
    for (file, damage) in cases {
        replica.stop().await;
        let path = replica.data_dir.join(file);
        let original =
            std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let damaged = damage_bytes(&original, &damage);
        std::fs::write(&path, &damaged)?;

        let exited = replica.run_to_exit(Duration::from_secs(30)).await?;
        let line = exited
            .error_line()
            .with_context(|| format!("starting with a damaged {file}"))?;
        ensure!(
            line.contains(&path.display().to_string()),
            "the error does not name {}: {line}",
            path.display()
        );
        ensure!(
            std::fs::read(&path)? == damaged,
            "{file} was modified by the failed start"
        );
        eprintln!("{file}: {line}");

        std::fs::write(&path, &original)?;
        replica
            .restart()
            .await
            .with_context(|| format!("restarting with {file} restored"))?;
        expect_data(&replica, &path).await?;
    }
    Ok(())
}

fn damage_bytes(original: &[u8], damage: &Damage) -> Vec<u8> {
    match damage {
        Damage::Garbage => {
            // A fixed xorshift stream: deterministic garbage, never a valid header.
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
            (0..original.len().max(64))
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect()
        }
        Damage::Truncate => original[..original.len() / 2].to_vec(),
    }
}

async fn expect_data(replica: &Replica, restored: &Path) -> anyhow::Result<()> {
    let client = replica.client()?;
    let all = client.range("keep/", true, false, None).await?;
    ensure!(
        all.kvs.len() == 20,
        "after restoring {}: {} of 20 keys",
        restored.display(),
        all.kvs.len()
    );
    Ok(())
}
