//! A component's volumes hold a descriptor only once the guest asked for its preopened
//! directories: a listening guest that never touches a file holds none, while a guest that
//! reads its volume still sees it (and a missing volume is refused before the start).

use crate::support::{Harness, bounded, guest, scratch};
use anyhow::Result;
use skiff_runtime_wasm::spec::{TerminationReason, VolumeMount};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

/// How many of this process's descriptors are open on `dir`.
fn fds_on(dir: &Path) -> Result<usize> {
    let dir = dir.canonicalize()?;
    let mut n = 0;
    for entry in std::fs::read_dir("/proc/self/fd")? {
        if std::fs::read_link(entry?.path()).is_ok_and(|target| target == dir) {
            n += 1;
        }
    }
    Ok(n)
}

fn volume(host_path: &Path, guest_path: &str) -> VolumeMount {
    VolumeMount {
        host_path: host_path.to_path_buf(),
        guest_path: guest_path.into(),
        read_only: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_listener_holds_no_volume_descriptor() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        let ip = h.pod("idle", "10.244.30.2")?;
        let token = scratch(&h, "token");
        std::fs::write(token.join("token"), "secret\n")?;
        let mut spec = guest("echo", "tcp-echo", &[("PORT", "7400")]);
        spec.volumes = vec![volume(
            &token,
            "/var/run/secrets/kubernetes.io/serviceaccount",
        )];
        h.run("idle", spec).await?;
        let real = h.wait_listening(SocketAddr::new(ip, 7400), T).await?;
        // The guest is serving: it got as far as it ever goes without touching a file.
        let mut conn = tokio::net::TcpStream::connect(real).await?;
        echo_once(&mut conn).await?;
        assert_eq!(fds_on(&token)?, 0, "the idle guest's volume is not open");
        h.shutdown().await;
        Ok(())
    })
    .await
}

async fn echo_once(conn: &mut tokio::net::TcpStream) -> Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    conn.write_all(b"ping").await?;
    let mut buf = [0u8; 4];
    tokio::time::timeout(T, conn.read_exact(&mut buf)).await??;
    assert_eq!(&buf, b"ping");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_that_reads_its_volume_opens_it_once_and_closes_it_at_exit() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        h.pod("reader", "10.244.30.3")?;
        let config = scratch(&h, "config");
        std::fs::write(config.join("app.conf"), "color=green\n")?;
        let mut spec = guest("printer", "env-printer", &[]);
        spec.volumes = vec![volume(&config, "/config")];
        h.run("reader", spec).await?;
        assert_eq!(
            h.wait("reader", "printer", T).await?,
            TerminationReason::Exited { code: 0 }
        );
        let log = h.log("reader", "printer")?;
        assert!(
            log.contains("config /config/app.conf: color=green"),
            "{log}"
        );
        assert_eq!(fds_on(&config)?, 0, "closed with the store");
        h.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_volume_is_refused_before_the_start() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        h.pod("broken", "10.244.30.4")?;
        let missing = h.dir.path().join("never-made");
        let mut spec = guest("echo", "tcp-echo", &[("PORT", "7401")]);
        spec.volumes = vec![volume(&missing, "/data")];
        let err = h
            .run("broken", spec)
            .await
            .expect_err("a missing volume must not start");
        assert!(format!("{err:#}").contains("never-made"), "{err:#}");
        h.shutdown().await;
        Ok(())
    })
    .await
}
