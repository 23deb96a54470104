//! Usage snapshots on real guests: a busy loop accumulates CPU time while a sleeping guest
//! does not, memory-hog's linear memory is what it allocated, a wasi:http guest is charged
//! for its requests, and a stopped container uses nothing.

use crate::support::{Harness, bounded, guest};
use anyhow::{Result, ensure};
use skiff_runtime_wasm::spec::PortSpec;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_guests_use_cpu_and_hogs_hold_memory() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        h.pod("busy", "10.244.14.2")?;
        h.pod("hog", "10.244.14.3")?;
        h.run("busy", guest("spin", "busy-loop", &[])).await?;
        let hog = guest(
            "hog",
            "memory-hog",
            &[("CHUNK_MIB", "4"), ("MAX_MIB", "16")],
        );
        h.run("hog", hog).await?;
        h.wait_log("busy", "spin", "busy-loop started", T).await?;
        h.wait_log("hog", "hog", "memory-hog holding 16 MiB", T)
            .await?;

        let spin_before = h.rt.container_usage("busy", "spin")?;
        let hog_before = h.rt.container_usage("hog", "hog")?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let spin = h.rt.container_usage("busy", "spin")?;
        let held = h.rt.container_usage("hog", "hog")?;
        let spun = spin.cpu_ns - spin_before.cpu_ns;
        let slept = held.cpu_ns - hog_before.cpu_ns;
        // A whole core for a second when the machine is idle; a shared box gives less.
        ensure!(spun >= 50_000_000, "busy loop used {spun} ns in 1 s");
        ensure!(slept < 20_000_000, "sleeping hog used {slept} ns in 1 s");
        ensure!(
            (16 << 20..=24 << 20).contains(&held.memory_bytes),
            "hog holds {} bytes",
            held.memory_bytes
        );
        ensure!(
            spin.memory_bytes > 0 && spin.memory_bytes < held.memory_bytes,
            "busy loop memory {}",
            spin.memory_bytes
        );

        let usage = h.rt.usage();
        let pods: Vec<(&str, &str)> = usage
            .iter()
            .map(|p| (p.pod.as_str(), p.namespace.as_str()))
            .collect();
        ensure!(
            pods == [("busy", "default"), ("hog", "default")],
            "{pods:?}"
        );
        ensure!(usage[1].containers[0].name == "hog");

        // A stopped container's stores are gone: no memory, and it is not listed.
        h.rt.stop_container("hog", "hog", Duration::ZERO).await?;
        let stopped = h.rt.container_usage("hog", "hog")?;
        ensure!(stopped.memory_bytes == 0, "{stopped:?}");
        ensure!(stopped.cpu_ns >= held.cpu_ns, "CPU time never goes back");
        let listed: Vec<String> = h.rt.usage().into_iter().map(|p| p.pod).collect();
        ensure!(listed == ["busy"], "{listed:?}");
        h.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_guest_is_charged_for_its_requests() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        let ip = h.pod("web", "10.244.14.9")?;
        let mut spec = guest("web", "http-hello", &[]);
        spec.ports = vec![PortSpec {
            container_port: 8080,
        }];
        h.run("web", spec).await?;
        let real = h
            .wait_listening(std::net::SocketAddr::new(ip, 8080), T)
            .await?;
        let idle = h.rt.container_usage("web", "web")?;
        ensure!(idle.memory_bytes == 0, "no request, no instance: {idle:?}");
        for _ in 0..20 {
            let body = crate::http::get(real, "/").await?;
            ensure!(!body.is_empty());
        }
        let served = h.rt.container_usage("web", "web")?;
        ensure!(served.cpu_ns > idle.cpu_ns, "{idle:?} then {served:?}");
        // Each request's instance is dropped when its task ends, just after the answer.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while h.rt.container_usage("web", "web")?.memory_bytes != 0 {
            ensure!(
                tokio::time::Instant::now() < deadline,
                "request instances still hold memory"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        h.shutdown().await;
        Ok(())
    })
    .await
}
