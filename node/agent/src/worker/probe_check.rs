//! One probe check (httpGet or tcpSocket) at the pod's own address through the runtime's
//! `PodNetwork`, as the kubelet's prober dials the pod IP. A failure says why in the
//! kubelet's words (Go's HTTP client and dialer errors), for the Unhealthy event:
//! `Get "http://10.244.0.5:8080/healthz": dial tcp 10.244.0.5:8080: connect: connection
//! refused`, `HTTP probe failed with statuscode: 500`.

use crate::translate::ProbeAction;
use skiff_runtime_wasm::network::{PodNetwork, PodRef};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The kubelet's prober's User-Agent.
const USER_AGENT: &str = "kube-probe/1.33";

/// Runs one check within `timeout`: `Ok`, or why it failed.
pub async fn check(
    net: Arc<dyn PodNetwork>,
    pod: PodRef,
    action: ProbeAction,
    timeout: Duration,
) -> Result<(), String> {
    let target = Target::of(&pod, &action);
    match tokio::time::timeout(timeout, target.check(&*net, &pod)).await {
        Ok(result) => result,
        Err(_) => Err(target.timed_out()),
    }
}

/// What one check reaches.
struct Target {
    addr: SocketAddr,
    /// `Some(path)` for httpGet.
    path: Option<String>,
}

impl Target {
    fn of(pod: &PodRef, action: &ProbeAction) -> Target {
        let (port, path) = match action {
            ProbeAction::Http { port, path } => (*port, Some(path.clone())),
            ProbeAction::Tcp { port } => (*port, None),
        };
        Target {
            addr: SocketAddr::new(pod.ip, port),
            path,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Go's dial error, wrapped in the HTTP client's for httpGet.
    fn failed(&self, dial: &str) -> String {
        let dial = format!("dial tcp {}: {dial}", self.addr);
        match &self.path {
            Some(path) => format!("Get \"{}\": {dial}", self.url(path)),
            None => dial,
        }
    }

    fn timed_out(&self) -> String {
        match &self.path {
            Some(path) => format!(
                "Get \"{}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                self.url(path)
            ),
            None => format!("dial tcp {}: i/o timeout", self.addr),
        }
    }

    async fn check(&self, net: &dyn PodNetwork, pod: &PodRef) -> Result<(), String> {
        // No socket listens at the pod's port: what the guest's peers see is a refusal.
        let refused = || self.failed("connect: connection refused");
        let real = net.connect(pod, self.addr).map_err(|_| refused())?;
        let mut stream = TcpStream::connect(real).await.map_err(|_| refused())?;
        match &self.path {
            None => Ok(()),
            Some(path) => {
                let code = self.status_code(&mut stream, path).await?;
                if (200..400).contains(&code) {
                    Ok(())
                } else {
                    Err(format!("HTTP probe failed with statuscode: {code}"))
                }
            }
        }
    }

    /// GET `path`; the answer's status code (2xx and 3xx pass, as the kubelet counts them).
    async fn status_code(&self, stream: &mut TcpStream, path: &str) -> Result<u16, String> {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {USER_AGENT}\r\n\
             Accept: */*\r\nConnection: close\r\n\r\n",
            self.addr
        );
        let eof = || format!("Get \"{}\": EOF", self.url(path));
        if stream.write_all(request.as_bytes()).await.is_err() {
            return Err(self.failed("write: connection reset by peer"));
        }
        // The status line is all we need; 1 KiB bounds what a guest can make us read.
        let mut head = Vec::with_capacity(128);
        let mut buf = [0u8; 256];
        while !head.contains(&b'\n') && head.len() < 1024 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        if head.is_empty() {
            return Err(eof());
        }
        let line = String::from_utf8_lossy(&head);
        let mut words = line.split_whitespace();
        match (
            words.next(),
            words.next().and_then(|c| c.parse::<u16>().ok()),
        ) {
            (Some(version), Some(code)) if version.starts_with("HTTP/") => Ok(code),
            _ => Err(format!(
                "Get \"{}\": net/http: HTTP/1.x transport connection broken: malformed HTTP response",
                self.url(path)
            )),
        }
    }
}
