//! A real Prometheus (Debian's `prometheus`, installed by scripts/setup.sh) for the
//! monitoring test: started on a free loopback port with a configuration file, queried
//! through its HTTP API (`/api/v1/query`, `/api/v1/targets`), killed when dropped.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// A running Prometheus.
pub struct Prometheus {
    port: u16,
    /// Killed on drop.
    _child: Child,
}

impl Prometheus {
    /// Starts Prometheus with `config`, its data and log under `dir`.
    pub fn start(config: &Path, dir: &Path) -> anyhow::Result<Prometheus> {
        let port = skiff_tests::free_port()?;
        let log = std::fs::File::create(dir.join("prometheus.log"))?;
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("starting prometheus (scripts/setup.sh installs Debian's package)")?;
        Ok(Prometheus {
            port,
            _child: child,
        })
    }

    /// `GET path` on Prometheus' HTTP API, its JSON answer.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await?;
        let request = format!(
            "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n",
            self.port
        );
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        let answer = String::from_utf8(answer)?;
        let (head, body) = answer
            .split_once("\r\n\r\n")
            .context("Prometheus' answer has no header end")?;
        if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
            bail!("GET {path}: {head}\n{body}");
        }
        Ok(serde_json::from_str(body)?)
    }

    /// The instant vector of a PromQL query: each sample's labels and value.
    pub async fn query(&self, promql: &str) -> anyhow::Result<Vec<(Value, f64)>> {
        let answer = self
            .get(&format!("/api/v1/query?query={}", encode(promql)))
            .await?;
        let result = answer["data"]["result"]
            .as_array()
            .with_context(|| format!("{promql}: {answer}"))?;
        result
            .iter()
            .map(|sample| {
                let value = sample["value"][1]
                    .as_str()
                    .with_context(|| format!("{promql}: {sample}"))?
                    .parse::<f64>()?;
                Ok((sample["metric"].clone(), value))
            })
            .collect()
    }

    /// The one value of a query that sums to a scalar-like vector, or `None` when empty.
    pub async fn value(&self, promql: &str) -> anyhow::Result<Option<f64>> {
        Ok(self.query(promql).await?.first().map(|(_, v)| *v))
    }

    /// Every scrape target's job, health and last error, for a failure message.
    pub async fn targets(&self) -> String {
        match self.get("/api/v1/targets").await {
            Ok(answer) => answer["data"]["activeTargets"]
                .as_array()
                .map(|targets| {
                    targets
                        .iter()
                        .map(|t| {
                            format!(
                                "{} {} {} {}\n",
                                t["labels"]["job"], t["scrapeUrl"], t["health"], t["lastError"]
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            Err(e) => format!("no targets: {e:#}"),
        }
    }
}

/// `text` percent-encoded for a query string.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
