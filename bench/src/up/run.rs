//! `up-bench run`: `skiff run NAME --image FILE --port 8080 --expose` against a running
//! `skiff up`, timed from the command's start to the first HTTP 200 through the NodePort URL
//! it prints (issue 17: under 1 s warm). The command pushes the file to the built-in registry,
//! applies the Deployment and the Service and exits; the agent then pulls, compiles (or finds
//! the compiled code in its cache) and starts the guest.
//! - cold: a module nobody pushed or compiled before (the guest with a fresh custom section
//!   appended, so its digest is new);
//! - warm: the same file again under another name (its blobs are in the registry, its
//!   compiled code in the agent's cache).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};

/// How long one run may take to answer.
const LIMIT: Duration = Duration::from_secs(120);

/// One `skiff run`'s timings, both from the command's start.
#[derive(Debug, Clone, Copy)]
pub struct RunOutcome {
    /// Until the command exited (pushed, applied, URL printed).
    pub command: Duration,
    /// Until the app's first HTTP 200.
    pub first_200: Duration,
}

/// A copy of the Wasm binary `guest` with a custom section named `skiff-bench` holding
/// `seed`: the same program with a digest no earlier run had (custom sections may follow any
/// section, in core modules and components alike).
pub fn fresh_module(guest: &Path, seed: u64, dir: &Path) -> anyhow::Result<PathBuf> {
    let mut bytes =
        std::fs::read(guest).with_context(|| format!("reading the guest {}", guest.display()))?;
    ensure!(
        bytes.starts_with(b"\0asm"),
        "{} is not Wasm",
        guest.display()
    );
    let name = b"skiff-bench";
    let payload = seed.to_le_bytes();
    let mut section = leb128(name.len() as u64);
    section.extend_from_slice(name);
    section.extend_from_slice(&payload);
    bytes.push(0);
    bytes.extend(leb128(section.len() as u64));
    bytes.extend(section);
    let path = dir.join(format!("guest-{seed}.wasm"));
    std::fs::write(&path, bytes)?;
    Ok(path)
}

fn leb128(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// Runs `skiff run name --image file --port 8080 --expose` with `kubeconfig`, then polls the
/// URL it prints until the app answers 200.
pub async fn run_to_first_200(
    kubeconfig: &Path,
    name: &str,
    file: &Path,
) -> anyhow::Result<RunOutcome> {
    let started = Instant::now();
    let output = tokio::process::Command::new(skiff_tests::skiff_bin())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["run", name, "--image"])
        .arg(file)
        .args(["--port", "8080", "--expose"])
        .kill_on_drop(true)
        .output();
    let output = timeout(LIMIT, output).await.context("skiff run hung")??;
    let command = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "skiff run failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let addr = reach_address(&stdout)?;
    loop {
        if status_of(addr).await == Some(200) {
            return Ok(RunOutcome {
                command,
                first_200: started.elapsed(),
            });
        }
        ensure!(
            started.elapsed() < LIMIT,
            "{name} did not answer 200 at {addr} within {LIMIT:?}"
        );
        sleep(Duration::from_millis(5)).await;
    }
}

/// The loopback address of `reach it at: http://ADDR/` (nothing else is ever contacted).
fn reach_address(stdout: &str) -> anyhow::Result<SocketAddr> {
    let url = stdout
        .lines()
        .find_map(|l| l.strip_prefix("reach it at: "))
        .with_context(|| format!("skiff run printed no URL: {stdout}"))?;
    let host_port = url
        .trim()
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let addr: SocketAddr = host_port
        .parse()
        .with_context(|| format!("{url} is not http://IP:PORT/"))?;
    if !addr.ip().is_loopback() {
        bail!("{addr} is not a loopback address: the bench only talks to loopback");
    }
    Ok(addr)
}

/// The status code of `GET /` at `addr`, or `None` if nothing answers yet.
async fn status_of(addr: SocketAddr) -> Option<u16> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
    };
    timeout(Duration::from_secs(2), exchange)
        .await
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::{leb128, reach_address};

    #[test]
    fn leb128_encodes_as_wasm_reads_it() {
        assert_eq!(leb128(0), [0]);
        assert_eq!(leb128(127), [127]);
        assert_eq!(leb128(128), [0x80, 1]);
        assert_eq!(leb128(624_485), [0xe5, 0x8e, 0x26]);
    }

    #[test]
    fn only_a_loopback_url_is_reached() {
        let out = "pushed x\nreach it at: http://127.0.0.1:30080/\nor forward";
        assert_eq!(reach_address(out).unwrap().port(), 30080);
        assert!(reach_address("reach it at: http://10.0.0.1:30080/").is_err());
        assert!(reach_address("nothing").is_err());
    }
}
