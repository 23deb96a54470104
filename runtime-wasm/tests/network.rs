//! Pods talk over virtual IPs and Service names, TCP and UDP; anything outside the overlay is
//! refused and no real socket ever targets a non-loopback address.

use crate::support::{Harness, bounded, guest};
use anyhow::Result;
use skiff_runtime_wasm::network::{Proto, RealUse};
use skiff_runtime_wasm::spec::TerminationReason;
use std::net::SocketAddr;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

fn assert_only_loopback(h: &Harness) {
    let uses: Vec<RealUse> = h.net.real_uses();
    assert!(!uses.is_empty());
    for u in &uses {
        assert!(u.real_target.ip().is_loopback(), "real target {u:?}");
    }
    for (addr, usage) in h.rt.socket_audit().seen() {
        assert!(addr.ip().is_loopback(), "real socket {usage} on {addr}");
    }
}

/// Runs the `client` example in pod `client` with `env`; its log once it exited 0.
async fn client_log(h: &Harness, env: &[(&str, &str)]) -> Result<String> {
    h.run("client", guest("client", "client", env)).await?;
    assert_eq!(
        h.wait("client", "client", T).await?,
        TerminationReason::Exited { code: 0 }
    );
    h.log("client", "client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_by_service_name_with_virtual_addresses() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        let server = h.pod("server", "10.244.3.2")?;
        let client = h.pod("client", "10.244.3.3")?;
        let vip: SocketAddr = "10.96.0.10:7000".parse()?;
        h.net
            .add_service(Proto::Tcp, vip, vec![SocketAddr::new(server, 7000)]);
        h.net.add_name("echo.default", vec![vip.ip()]);
        h.run("server", guest("echo", "tcp-echo", &[("PORT", "7000")]))
            .await?;
        h.wait_listening(SocketAddr::new(server, 7000), T).await?;
        let env = [
            ("TARGET", "echo.default.svc.cluster.local:7000"),
            ("COUNT", "3"),
            ("INTERVAL_MS", "10"),
        ];
        let log = client_log(&h, &env).await?;
        assert!(
            log.contains("reply 2 from echo.default.svc.cluster.local:7000: ping 2"),
            "{log}"
        );
        // The server saw the client's virtual IP, and reports its own virtual address.
        let server_log = h.log("server", "echo")?;
        assert!(
            server_log.contains("tcp-echo listening on 10.244.3.2:7000"),
            "{server_log}"
        );
        assert!(
            server_log.contains(&format!("connection from {client}:")),
            "{server_log}"
        );
        assert_only_loopback(&h);
        h.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_by_short_name_and_localhost_inside_a_pod() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        let server = h.pod("server", "10.244.4.2")?;
        let client = h.pod("client", "10.244.4.3")?;
        h.net.add_name("udp-echo.default", vec![server]);
        h.run("server", guest("echo", "udp-echo", &[("PORT", "7001")]))
            .await?;
        h.wait_log("server", "echo", "udp-echo listening on 10.244.4.2:7001", T)
            .await?;
        let env = [
            ("TARGET", "udp-echo:7001"),
            ("PROTO", "udp"),
            ("COUNT", "3"),
            ("INTERVAL_MS", "10"),
        ];
        let log = client_log(&h, &env).await?;
        assert!(log.contains("reply 2 from udp-echo:7001: ping 2"), "{log}");
        let server_log = h.log("server", "echo")?;
        assert!(
            server_log.contains(&format!("datagram of 6 bytes from {client}:")),
            "{server_log}"
        );

        // A second container in the server pod reaches the echo over localhost.
        let env = [
            ("TARGET", "localhost:7001"),
            ("PROTO", "udp"),
            ("COUNT", "2"),
            ("INTERVAL_MS", "10"),
        ];
        h.run("server", guest("sidecar", "client", &env)).await?;
        assert_eq!(
            h.wait("server", "sidecar", T).await?,
            TerminationReason::Exited { code: 0 }
        );
        assert_only_loopback(&h);
        h.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addresses_outside_the_table_are_refused_without_real_sockets() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        h.pod("client", "10.244.5.3")?;
        let cases = [
            ("unknown-pod", "10.244.5.99:7000", "tcp"),
            ("internet", "93.184.216.34:80", "tcp"),
            ("lan", "192.168.1.1:80", "tcp"),
            ("dns", "example.com:80", "tcp"),
            ("udp-out", "8.8.8.8:53", "udp"),
        ];
        for (name, target, proto) in cases {
            let env = [("TARGET", target), ("PROTO", proto), ("COUNT", "1")];
            h.run("client", guest(name, "client", &env)).await?;
        }
        for (name, target, _) in cases {
            assert_eq!(
                h.wait("client", name, T).await?,
                TerminationReason::Exited { code: 1 },
                "{name}"
            );
            let log = h.log("client", name)?;
            assert!(
                log.contains(&format!("error 0 calling {target}")),
                "{name}: {log}"
            );
        }
        // Nothing was routed, and the fence saw no real address at all except loopback binds.
        assert!(h.net.real_uses().is_empty(), "{:?}", h.net.real_uses());
        for (addr, usage) in h.rt.socket_audit().seen() {
            assert!(addr.ip().is_loopback(), "real socket {usage} on {addr}");
        }
        h.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_name_answers_every_pod_ip() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        let server = h.pod("server", "10.244.12.2")?;
        h.pod("client", "10.244.12.3")?;
        // A headless Service: the name resolves to its pods' IPs. The first pod has no
        // listener, so the guest's std connect must move on to the second address.
        let gone: std::net::IpAddr = "10.244.12.99".parse()?;
        h.net.add_name("echo-hl.default", vec![gone, server]);
        h.run("server", guest("echo", "tcp-echo", &[("PORT", "7000")]))
            .await?;
        h.wait_listening(SocketAddr::new(server, 7000), T).await?;
        let env = [
            ("TARGET", "echo-hl:7000"),
            ("COUNT", "2"),
            ("INTERVAL_MS", "10"),
        ];
        let log = client_log(&h, &env).await?;
        assert!(log.contains("reply 1 from echo-hl:7000: ping 1"), "{log}");
        assert_only_loopback(&h);
        h.shutdown().await;
        Ok(())
    })
    .await
}
