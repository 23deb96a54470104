//! A running `kubectl port-forward` whose local port is read from its "Forwarding from" line
//! and whose standard error is kept, and plain TCP clients of the forwarded port.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use skiff_tests::Kubectl;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::timeout;
use tokio_util::task::AbortOnDropHandle;

/// How long kubectl may take to listen, and one request to be answered.
const WAIT: Duration = Duration::from_secs(30);

/// `kubectl port-forward`, killed when dropped.
pub struct PortForward {
    child: Child,
    /// The local port kubectl listens on (127.0.0.1).
    pub local: u16,
    /// Every line kubectl wrote to standard error so far.
    stderr: Arc<Mutex<String>>,
    _reading: AbortOnDropHandle<()>,
}

impl PortForward {
    /// Starts `kubectl port-forward <target> <ports> --address 127.0.0.1` and waits for its
    /// "Forwarding from 127.0.0.1:<local> -> <remote>" line. kubectl tries a WebSocket
    /// first, then SPDY.
    pub async fn start(kubectl: &Kubectl, target: &str, ports: &str) -> anyhow::Result<Self> {
        Self::spawn(kubectl, target, ports, "true").await
    }

    /// [`PortForward::start`] with kubectl's WebSocket attempt turned off: plain SPDY/3.1.
    pub async fn start_spdy(kubectl: &Kubectl, target: &str, ports: &str) -> anyhow::Result<Self> {
        Self::spawn(kubectl, target, ports, "false").await
    }

    async fn spawn(
        kubectl: &Kubectl,
        target: &str,
        ports: &str,
        websockets: &str,
    ) -> anyhow::Result<Self> {
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubectl.kubeconfig)
            .arg("--cache-dir")
            .arg(&kubectl.cache_dir)
            .args(["port-forward", target, ports, "--address", "127.0.0.1"])
            .env_remove("KUBECONFIG")
            .env("KUBECTL_PORT_FORWARD_WEBSOCKETS", websockets)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("spawning kubectl port-forward")?;
        let stdout = child.stdout.take().context("kubectl stdout")?;
        let stderr_pipe = child.stderr.take().context("kubectl stderr")?;
        let stderr = Arc::new(Mutex::new(String::new()));
        let kept = stderr.clone();
        let reading = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr_pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut all = skiff_sync::lock(&kept);
                all.push_str(&line);
                all.push('\n');
            }
        });
        let mut lines = BufReader::new(stdout).lines();
        let first = timeout(WAIT, lines.next_line()).await;
        let line = match first {
            Ok(Ok(Some(line))) => line,
            _ => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                bail!(
                    "kubectl port-forward {target} {ports} printed no Forwarding line; stderr: {}",
                    skiff_sync::lock(&stderr)
                );
            }
        };
        let local = forwarded_port(&line).with_context(|| format!("unexpected line {line:?}"))?;
        // Later stdout lines ("Handling connection for ...") are read and dropped.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(PortForward {
            child,
            local,
            stderr,
            _reading: AbortOnDropHandle::new(reading),
        })
    }

    /// What kubectl wrote to standard error so far.
    pub fn stderr(&self) -> String {
        skiff_sync::lock(&self.stderr).clone()
    }

    /// Whether kubectl still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL and reap; afterwards nothing listens on the local port.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        let refused = TcpStream::connect(("127.0.0.1", self.local)).await.is_err();
        anyhow::ensure!(
            refused,
            "port {} still accepts after kubectl was killed",
            self.local
        );
        Ok(())
    }
}

/// The local port of "Forwarding from 127.0.0.1:43567 -> 8080".
pub fn forwarded_port(line: &str) -> Option<u16> {
    let rest = line.strip_prefix("Forwarding from 127.0.0.1:")?;
    rest.split_whitespace().next()?.parse().ok()
}

/// `GET <path>` over a fresh connection to 127.0.0.1:`port`; the whole answer.
pub async fn http_get(port: u16, path: &str) -> anyhow::Result<String> {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: forwarded\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await?;
        anyhow::Ok(answer)
    };
    timeout(WAIT, exchange)
        .await
        .with_context(|| format!("GET {path} through port {port}: no answer within {WAIT:?}"))?
}

/// Sends `size` bytes through an echo server at 127.0.0.1:`port` while reading them back.
pub async fn echo_round_trip(port: u16, size: usize) -> anyhow::Result<()> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let (mut from, mut to) = stream.into_split();
    let sent: Vec<u8> = (0..size)
        .map(|i| u8::try_from(i % 251).unwrap_or(0))
        .collect();
    let expected = sent.clone();
    let write = async move {
        to.write_all(&sent).await?;
        anyhow::Ok(to)
    };
    let read = async move {
        let mut back = vec![0u8; size];
        from.read_exact(&mut back).await?;
        anyhow::Ok(back)
    };
    let (written, back) = timeout(WAIT * 2, async { tokio::join!(write, read) })
        .await
        .context("the echo did not come back in time")?;
    let (_writer, back) = (written?, back?);
    anyhow::ensure!(back == expected, "the echo differs from what was sent");
    Ok(())
}

#[test]
fn the_forwarding_line_names_the_local_port() {
    assert_eq!(
        forwarded_port("Forwarding from 127.0.0.1:43567 -> 8080"),
        Some(43567)
    );
    assert_eq!(forwarded_port("Forwarding from [::1]:43567 -> 8080"), None);
}
