//! wasi:http proxy components served on the pod IP, one instance per request; a std::net
//! HTTP server guest; graceful stop of an HTTP container.

use crate::support::{Harness, bounded, guest};
use anyhow::{Result, bail};
use skiff_runtime_wasm::spec::{ContainerState, PortSpec, TerminationReason};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const T: Duration = Duration::from_secs(60);

pub(crate) async fn get(real: SocketAddr, path: &str) -> Result<String> {
    let mut s = tokio::net::TcpStream::connect(real).await?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nhost: pod\r\nconnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    if !out.starts_with("HTTP/1.1 200") {
        bail!("unexpected response: {out}");
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_proxy_component_answers_on_pod_ip_and_stops_gracefully() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        let ip = h.pod("web", "10.244.8.2")?;
        let mut spec = guest("hello", "http-hello", &[("GREETING", "hi")]);
        spec.ports = vec![PortSpec {
            container_port: 8080,
        }];
        h.run("web", spec).await?;
        let real = h.wait_listening(SocketAddr::new(ip, 8080), T).await?;
        for i in 0..5 {
            let body = get(real, &format!("/n/{i}")).await?;
            assert!(body.contains(&format!("hi /n/{i}\n")), "{body}");
        }
        let status =
            h.rt.stop_container("web", "hello", Duration::from_secs(5))
                .await?;
        assert!(
            matches!(
                status.state,
                ContainerState::Terminated {
                    reason: TerminationReason::Exited { code: 0 },
                    ..
                }
            ),
            "{status:?}"
        );
        // The address left the overlay.
        assert!(h.real(SocketAddr::new(ip, 8080)).is_err());
        h.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn std_net_http_server_guest_serves() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        let ip = h.pod("web", "10.244.8.3")?;
        h.run("web", guest("server", "http-server", &[])).await?;
        let real = h.wait_listening(SocketAddr::new(ip, 8080), T).await?;
        let body = get(real, "/hello").await?;
        assert!(body.contains("hello from http-server /hello"), "{body}");
        h.wait_log("web", "server", "GET /hello HTTP/1.1", T)
            .await?;
        h.shutdown().await;
        Ok(())
    })
    .await
}
