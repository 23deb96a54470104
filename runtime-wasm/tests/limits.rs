//! CPU and pooling limits measured on real guests: a 250m busy loop gets at most a quarter
//! of a core (an unlimited one gets more), and the pooling allocator runs pods, keeps enforcing
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
        // The throttle is a share of wall time, so it bounds the guest's CPU time whatever else
        // runs: at most a quarter of the window (plus slack for the scheduling quantum). The
        // unlimited one gets what the machine gives it; only when that is clearly more than
        // a quarter can the two be compared (a loaded box gives both the same sliver).
        let window = Duration::from_secs(3);
        let cpu = |name| -> Result<u64> { Ok(h.rt.container_usage("busy", name)?.cpu_ns) };
        let (q0, f0) = (cpu("quarter")?, cpu("full")?);
        let beats0 = heartbeats(&h, "busy", "quarter")?;
        tokio::time::sleep(window).await;
        let (q, f) = (cpu("quarter")? - q0, cpu("full")? - f0);
        let beats = heartbeats(&h, "busy", "quarter")? - beats0;
        let window_ns = window.as_nanos() as f64;
        let (q_share, f_share) = (q as f64 / window_ns, f as f64 / window_ns);
        eprintln!("cpu over {window:?}: 250m used {q_share:.2} of a core, unlimited {f_share:.2}");
        assert!(beats > 0, "the throttled guest still runs");
        assert!(
            q_share <= 0.35,
            "the 250m guest used {q_share:.2} of a core over {window:?}"
        );
        if f_share >= 0.6 {
            assert!(
                f_share / q_share >= 2.0,
                "unlimited {f_share:.2} vs 250m {q_share:.2} of a core"
            );
        }
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
