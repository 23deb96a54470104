//! CPU and pooling limits measured on real guests: a 250m busy loop gets roughly a quarter
//! of the work of an unlimited one, and the pooling allocator runs pods, keeps enforcing
//! memory limits and names pool exhaustion clearly.

use crate::support::{Harness, bounded, guest, shared_data_dir};
use anyhow::Result;
use skiff_runtime_wasm::RuntimeConfig;
use skiff_runtime_wasm::engine::PoolingConfig;
use skiff_runtime_wasm::spec::{ContainerState, TerminationReason};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

fn heartbeats(h: &Harness, pod: &str, name: &str) -> Result<usize> {
    Ok(h.log(pod, name)?.matches("still spinning").count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_limit_throttles_a_busy_guest_to_its_share() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        h.pod("busy", "10.244.13.2")?;
        // A heartbeat every 2^21 iterations: hundreds per second at full speed.
        let env = [("HEARTBEAT_SHIFT", "21")];
        let mut quarter = guest("quarter", "busy-loop", &env);
        quarter.limits.cpu_millicores = Some(250);
        h.run("busy", quarter).await?;
        h.run("busy", guest("full", "busy-loop", &env)).await?;
        for name in ["quarter", "full"] {
            h.wait_log("busy", name, "busy-loop started", T).await?;
        }
        // Count the work each does in the same window. Both share the box with whatever
        // else runs, and the throttle counts wall time, so contention slows both alike.
        let window = Duration::from_secs(3);
        let (q0, f0) = (
            heartbeats(&h, "busy", "quarter")?,
            heartbeats(&h, "busy", "full")?,
        );
        tokio::time::sleep(window).await;
        let (q1, f1) = (
            heartbeats(&h, "busy", "quarter")?,
            heartbeats(&h, "busy", "full")?,
        );
        let (q, f) = ((q1 - q0) as f64, (f1 - f0) as f64);
        assert!(q > 0.0, "the throttled guest still runs (full did {f})");
        let ratio = f / q;
        eprintln!("cpu: unlimited {f} vs 250m {q} heartbeats in {window:?}: ratio {ratio:.2}");
        // Expected 4x (measured 3.8-4.8); generous bounds for a noisy, shared 2-core box.
        assert!(
            (2.0..=8.0).contains(&ratio),
            "unlimited/250m work ratio {ratio:.2} (full {f}, quarter {q} heartbeats in {window:?})"
        );
        h.shutdown().await;
        Ok(())
    })
    .await
}

fn pooled(max_instances: u32) -> RuntimeConfig {
    let mut cfg = RuntimeConfig::new(shared_data_dir().join("pooled"));
    cfg.engine.pooling = Some(PoolingConfig {
        max_instances,
        max_memory_bytes: 64 << 20,
    });
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooling_allocator_runs_pods_limits_memory_and_reports_exhaustion() -> Result<()> {
    bounded(async {
        let h = Harness::with_config(pooled(2))?;
        h.pod("p", "10.244.14.2")?;
        // A job runs to completion from the pool, and its slot is returned.
        h.run("p", guest("job", "job", &[("LIMIT", "2")])).await?;
        assert_eq!(
            h.wait("p", "job", T).await?,
            TerminationReason::Exited { code: 0 }
        );
        // The memory limit still applies below the pool's per-memory maximum.
        let mut hog = guest("hog", "memory-hog", &[("CHUNK_MIB", "4")]);
        hog.limits.memory_bytes = Some(16 << 20);
        h.run("p", hog).await?;
        assert_eq!(h.wait("p", "hog", T).await?, TerminationReason::OutOfMemory);
        // Two idle servers fill the pool; a third container cannot get a slot.
        h.run("p", guest("echo1", "tcp-echo", &[("PORT", "7001")]))
            .await?;
        h.run("p", guest("echo2", "tcp-echo", &[("PORT", "7002")]))
            .await?;
        h.wait_log("p", "echo1", "listening", T).await?;
        h.wait_log("p", "echo2", "listening", T).await?;
        h.run("p", guest("third", "job", &[("LIMIT", "2")])).await?;
        match h.wait("p", "third", T).await? {
            TerminationReason::StartFailed { message } => assert!(
                message.contains("instance pool is full") && message.contains("max_instances"),
                "{message}"
            ),
            other => panic!("expected a pool-exhausted start failure, got {other:?}"),
        }
        // Freeing a slot lets the next one start.
        h.rt.stop_container("p", "echo1", Duration::ZERO).await?;
        h.rt.remove_container("p", "third").await?;
        h.run("p", guest("third", "job", &[("LIMIT", "2")])).await?;
        assert_eq!(
            h.wait("p", "third", T).await?,
            TerminationReason::Exited { code: 0 }
        );
        let echo2 = h.rt.container_status("p", "echo2")?;
        assert!(
            matches!(echo2.state, ContainerState::Running { .. }),
            "{echo2:?}"
        );
        h.shutdown().await;
        Ok(())
    })
    .await
}
