//! One misbehaving guest stops only itself: busy loops do not starve echo round trips,
//! the memory hog dies at its limit with OOM, neighbours keep serving.

use crate::support::{Harness, bounded, guest};
use anyhow::Result;
use skiff_runtime_wasm::spec::{ContainerState, TerminationReason};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Worst echo round trip tolerated while busy loops saturate both cores.
const ROUND_TRIP_BOUND: Duration = Duration::from_millis(500);

async fn echo_round_trip(real: SocketAddr, msg: &[u8]) -> Result<Duration> {
    let start = tokio::time::Instant::now();
    let mut s = tokio::net::TcpStream::connect(real).await?;
    s.write_all(msg).await?;
    let mut buf = vec![0u8; msg.len()];
    s.read_exact(&mut buf).await?;
    assert_eq!(buf, msg);
    Ok(start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_loops_do_not_starve_echo_and_hog_dies_alone() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        let echo_ip = h.pod("echo", "10.244.2.2")?;
        h.pod("busy", "10.244.2.3")?;
        h.pod("hog", "10.244.2.4")?;
        h.run("echo", guest("echo", "tcp-echo", &[("PORT", "7000")]))
            .await?;
        let real = h
            .wait_listening(SocketAddr::new(echo_ip, 7000), Duration::from_secs(30))
            .await?;
        // Two spinning guests: as many as there are cores.
        h.run("busy", guest("spin1", "busy-loop", &[])).await?;
        h.run("busy", guest("spin2", "busy-loop", &[])).await?;
        h.wait_log(
            "busy",
            "spin1",
            "busy-loop started",
            Duration::from_secs(10),
        )
        .await?;
        h.wait_log(
            "busy",
            "spin2",
            "busy-loop started",
            Duration::from_secs(10),
        )
        .await?;
        let mut worst = Duration::ZERO;
        for i in 0..20 {
            worst = worst.max(echo_round_trip(real, format!("hello {i}").as_bytes()).await?);
        }
        assert!(
            worst < ROUND_TRIP_BOUND,
            "worst echo round trip {worst:?} with busy loops running"
        );

        // The hog hits its 32 MiB limit and is reported OOM.
        let mut hog = guest("hog", "memory-hog", &[("CHUNK_MIB", "4")]);
        hog.limits.memory_bytes = Some(32 << 20);
        h.run("hog", hog).await?;
        assert_eq!(
            h.wait("hog", "hog", Duration::from_secs(30)).await?,
            TerminationReason::OutOfMemory
        );
        assert!(h.log("hog", "hog")?.contains("memory-hog holds 24 MiB"));

        // Neighbours are untouched: the spinners still run, echo still answers.
        for spinner in ["spin1", "spin2"] {
            let status = h.rt.container_status("busy", spinner)?;
            assert!(
                matches!(status.state, ContainerState::Running { .. }),
                "{spinner}: {status:?}"
            );
        }
        echo_round_trip(real, b"still here").await?;

        // Stopping a spinner cancels it after the grace period: it never exits by itself.
        let started = tokio::time::Instant::now();
        let status =
            h.rt.stop_container("busy", "spin1", Duration::from_millis(200))
                .await?;
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(
            matches!(
                status.state,
                ContainerState::Terminated {
                    reason: TerminationReason::Interrupted,
                    ..
                }
            ),
            "{status:?}"
        );
        h.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_memory_cap_applies_without_a_limit() -> Result<()> {
    bounded(async {
        let mut cfg = skiff_runtime_wasm::RuntimeConfig::new(crate::support::shared_data_dir());
        cfg.default_memory_limit = 16 << 20;
        let h = Harness::with_config(cfg)?;
        h.pod("hog", "10.244.2.9")?;
        h.run("hog", guest("hog", "memory-hog", &[("CHUNK_MIB", "1")]))
            .await?;
        assert_eq!(
            h.wait("hog", "hog", Duration::from_secs(30)).await?,
            TerminationReason::OutOfMemory
        );
        let log = h.log("hog", "hog")?;
        assert!(!log.contains("holds 16 MiB"), "{log}");
        h.shutdown().await;
        Ok(())
    })
    .await
}
