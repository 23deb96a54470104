//! `registry-bench`: push and pull throughput of a 10 MiB Wasm module through skiff's built-in
//! registry (a `skiff server` replica, HTTPS, the admin's bearer token) and through Debian's
//! `docker-registry` (the CNCF distribution server, filesystem storage) on the same machine,
//! twice: on plain HTTP and on HTTPS (a self-signed certificate for 127.0.0.1, as skiff answers
//! only over TLS), with one client for all: a blob upload (`POST` then one `PUT ?digest=`, or
//! with `--patch-mib N` `PATCH`es of N MiB and an empty `PUT`, as docker uploads), the
//! config and the manifest, then a pull of the manifest and the blob, its digest checked.
//! Each round the order of the three rotates; each push is new content (nothing deduplicated).
//! Prints the median MiB/s of each and the ratios (built-in / docker-registry).
//! `--replicas 3` runs the built-in registry on three replicas (client on the leader), the
//! cost of making every blob durable on a second replica before the push is answered, which
//! docker-registry does not pay.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use clap::Parser;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;
use sha2::{Digest, Sha256};
use skiff_tests::{Cluster, Replica, ReplicaOptions};

#[derive(Parser)]
#[command(about = "Built-in registry vs docker-registry: push and pull of a Wasm module")]
struct Cli {
    /// Rounds (each pushes and pulls once per registry).
    #[arg(long, default_value_t = 7)]
    rounds: usize,
    /// Module size in MiB.
    #[arg(long, default_value_t = 10)]
    size_mib: usize,
    /// Control-plane replicas (1 or 3): with 3, every blob is on a majority before the push is
    /// answered. The client talks to the leader.
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// Pulls after each push (the round's pull figure is their median): more samples of the
    /// ~20-30 ms pull on a noisy machine.
    #[arg(long, default_value_t = 1)]
    pulls: usize,
    /// Upload each blob as `PATCH`es of this many MiB and an empty closing `PUT` (as docker
    /// does with one `PATCH` of the whole blob), instead of one `PUT` with the whole blob
    /// (0, the default, as ORAS does).
    #[arg(long, default_value_t = 0)]
    patch_mib: usize,
}

/// One registry as the client reaches it.
struct Target<C> {
    name: &'static str,
    base: String,
    token: Option<String>,
    client: Client<C, Full<Bytes>>,
    /// Bytes per `PATCH`; 0 for one monolithic `PUT`.
    patch_bytes: usize,
}

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A module of `len` bytes that no earlier round pushed (a Wasm preamble, then noise).
fn module(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005) | 1;
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

impl<C: Connect + Clone + Send + Sync + 'static> Target<C> {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        ctype: &str,
        body: Bytes,
    ) -> anyhow::Result<(StatusCode, http::HeaderMap, Bytes)> {
        let uri = if uri.starts_with("http") {
            uri.to_owned()
        } else {
            format!("{}{uri}", self.base)
        };
        // distribution serves an OCI manifest only to a client that accepts its type.
        let mut request = Request::builder()
            .method(method)
            .uri(&uri)
            .header(header::CONTENT_TYPE, ctype)
            .header(header::ACCEPT, "application/vnd.oci.image.manifest.v1+json");
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = self
            .client
            .request(request.body(Full::new(body))?)
            .await
            .with_context(|| uri.clone())?;
        let (parts, body) = response.into_parts();
        Ok((
            parts.status,
            parts.headers,
            body.collect().await?.to_bytes(),
        ))
    }

    async fn push_blob(&self, bytes: &[u8]) -> anyhow::Result<String> {
        let d = digest(bytes);
        let (status, headers, _) = self
            .call(
                Method::POST,
                "/v2/bench/blobs/uploads/",
                "application/octet-stream",
                Bytes::new(),
            )
            .await?;
        ensure!(
            status == StatusCode::ACCEPTED,
            "{}: upload start {status}",
            self.name
        );
        let location = headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .context("no Location")?;
        let (location, rest) = self.patch_chunks(location.to_owned(), bytes).await?;
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = format!("{location}{sep}digest={d}");
        let (status, ..) = self
            .call(
                Method::PUT,
                &put,
                "application/octet-stream",
                Bytes::copy_from_slice(rest),
            )
            .await?;
        ensure!(
            status == StatusCode::CREATED,
            "{}: upload {status}",
            self.name
        );
        Ok(d)
    }

    /// With `patch_bytes`, sends all of `bytes` as `PATCH`es; returns the session's location
    /// and what the closing `PUT` must carry (all of `bytes` without `PATCH`es, else nothing).
    async fn patch_chunks<'b>(
        &self,
        mut location: String,
        bytes: &'b [u8],
    ) -> anyhow::Result<(String, &'b [u8])> {
        if self.patch_bytes == 0 {
            return Ok((location, bytes));
        }
        for piece in bytes.chunks(self.patch_bytes) {
            let (status, headers, _) = self
                .call(
                    Method::PATCH,
                    &location,
                    "application/octet-stream",
                    Bytes::copy_from_slice(piece),
                )
                .await?;
            ensure!(
                status == StatusCode::ACCEPTED,
                "{}: PATCH {status}",
                self.name
            );
            location = headers
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .context("no Location after a PATCH")?
                .to_owned();
        }
        Ok((location, &[]))
    }

    /// Pushes `module` as an OCI Wasm artifact tagged `tag`.
    async fn push(&self, module: &[u8], tag: &str) -> anyhow::Result<()> {
        let layer = self.push_blob(module).await?;
        let config = br#"{"architecture":"wasm","os":"wasip2"}"#;
        let config_digest = self.push_blob(config).await?;
        let manifest = serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.wasm.config.v0+json", "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": "application/wasm", "digest": layer, "size": module.len()}],
        });
        let (status, ..) = self
            .call(
                Method::PUT,
                &format!("/v2/bench/manifests/{tag}"),
                "application/vnd.oci.image.manifest.v1+json",
                manifest.to_string().into(),
            )
            .await?;
        ensure!(
            status == StatusCode::CREATED,
            "{}: manifest {status}",
            self.name
        );
        Ok(())
    }

    /// Pulls `tag`'s manifest and its layer; checks the layer's digest.
    async fn pull(&self, tag: &str) -> anyhow::Result<usize> {
        let (status, _, body) = self
            .call(
                Method::GET,
                &format!("/v2/bench/manifests/{tag}"),
                "",
                Bytes::new(),
            )
            .await?;
        ensure!(
            status == StatusCode::OK,
            "{}: manifest get {status}",
            self.name
        );
        let manifest: serde_json::Value = serde_json::from_slice(&body)?;
        let layer = manifest["layers"][0]["digest"]
            .as_str()
            .context("no layer")?;
        let (status, _, blob) = self
            .call(
                Method::GET,
                &format!("/v2/bench/blobs/{layer}"),
                "",
                Bytes::new(),
            )
            .await?;
        ensure!(
            status == StatusCode::OK && digest(&blob) == layer,
            "{}: blob get {status}",
            self.name
        );
        Ok(blob.len())
    }

    /// One push and `pulls` pulls; the push's MiB/s and the pulls' median MiB/s.
    async fn round(&self, module: &[u8], tag: &str, pulls: usize) -> anyhow::Result<(f64, f64)> {
        let mib = module.len() as f64 / (1024.0 * 1024.0);
        let started = Instant::now();
        self.push(module, tag).await?;
        let push = mib / started.elapsed().as_secs_f64();
        let mut rates = Vec::new();
        for _ in 0..pulls.max(1) {
            let started = Instant::now();
            self.pull(tag).await?;
            rates.push(mib / started.elapsed().as_secs_f64());
        }
        Ok((push, median(rates)))
    }
}

/// A self-signed certificate for 127.0.0.1 (PEM certificate, PEM key).
fn loopback_certificate() -> anyhow::Result<(String, String)> {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])?;
    Ok((cert.pem(), signing_key.serialize_pem()))
}

/// `docker-registry serve` on a free loopback port with scratch storage, on HTTPS with
/// `tls` (certificate and key, PEM) or else on plain HTTP; killed on drop.
async fn docker_registry(
    tls: Option<&(String, String)>,
) -> anyhow::Result<(tokio::process::Child, SocketAddr)> {
    let dir = skiff_tests::scratch_dir("bench-docker-registry")?;
    let addr = SocketAddr::from(([127, 0, 0, 1], skiff_tests::free_port()?));
    let mut config = format!(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n",
        dir.join("data").display()
    );
    if let Some((cert, key)) = tls {
        std::fs::write(dir.join("tls.crt"), cert)?;
        std::fs::write(dir.join("tls.key"), key)?;
        config.push_str(&format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            dir.join("tls.crt").display(),
            dir.join("tls.key").display()
        ));
    }
    std::fs::write(dir.join("config.yml"), config)?;
    let child = tokio::process::Command::new("docker-registry")
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting docker-registry (apt install docker-registry)")?;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok((child, addr));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("docker-registry did not listen on {addr}")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let cluster = Cluster::start(cli.replicas.max(1), |i| {
        ReplicaOptions::new(&format!("bench-registry-{i}"))
    })
    .await?;
    let leader = cluster.leader(Duration::from_secs(10)).await?;
    let replica: &Replica = &cluster.replicas[leader];
    let ca = std::fs::read(replica.data_dir.join("pki/ca.crt"))?;
    let token = std::fs::read_to_string(replica.data_dir.join("admin-token"))?
        .trim()
        .to_owned();
    let builtin = Target {
        name: "built-in",
        base: replica.url(),
        token: Some(token),
        client: skiff_tests::https_client(&ca)?,
        patch_bytes: cli.patch_mib * 1024 * 1024,
    };
    let (_child, addr) = docker_registry(None).await?;
    let docker = Target {
        name: "docker-registry",
        base: format!("http://{addr}"),
        token: None,
        client: Client::builder(TokioExecutor::new()).build(HttpConnector::new()),
        patch_bytes: cli.patch_mib * 1024 * 1024,
    };
    let certificate = loopback_certificate()?;
    let (_tls_child, tls_addr) = docker_registry(Some(&certificate)).await?;
    let docker_tls = Target {
        name: "docker-registry (HTTPS)",
        base: format!("https://{tls_addr}"),
        token: None,
        client: skiff_tests::https_client(certificate.0.as_bytes())?,
        patch_bytes: cli.patch_mib * 1024 * 1024,
    };
    let len = cli.size_mib * 1024 * 1024;
    // Per target (built-in, docker-registry, docker-registry on HTTPS): (push, pull) per round.
    let mut rates: [Vec<(f64, f64)>; 3] = Default::default();
    for round in 0..cli.rounds {
        let tag = format!("r{round}");
        for turn in 0..3 {
            let which = (round + turn) % 3;
            let content = module(len, (3 * round + turn) as u64 + 1);
            let rate = match which {
                0 => builtin.round(&content, &tag, cli.pulls).await?,
                1 => docker.round(&content, &tag, cli.pulls).await?,
                _ => docker_tls.round(&content, &tag, cli.pulls).await?,
            };
            rates[which].push(rate);
        }
        let [b, d, t] = rates.each_ref().map(|r| r[r.len() - 1]);
        println!(
            "round {round}: built-in push {:.1} pull {:.1} MiB/s; {} push {:.1} pull {:.1}; {} push {:.1} pull {:.1}",
            b.0, b.1, docker.name, d.0, d.1, docker_tls.name, t.0, t.1
        );
    }
    let [b, d, t] = rates.each_ref().map(|r| {
        (
            median(r.iter().map(|x| x.0).collect()),
            median(r.iter().map(|x| x.1).collect()),
        )
    });
    let upload = match cli.patch_mib {
        0 => "one PUT".to_owned(),
        n => format!("PATCHes of {n} MiB"),
    };
    println!(
        "| {} MiB module ({upload}), {} replica(s), median of {} rounds ({} pull(s) each) | push MiB/s | pull MiB/s |",
        cli.size_mib, cli.replicas, cli.rounds, cli.pulls
    );
    println!("|---|---|---|");
    println!(
        "| built-in registry (HTTPS, bearer token) | {:.1} | {:.1} |",
        b.0, b.1
    );
    for (name, other) in [(docker.name, d), (docker_tls.name, t)] {
        println!("| {name} | {:.1} | {:.1} |", other.0, other.1);
    }
    for (name, other) in [(docker.name, d), (docker_tls.name, t)] {
        println!(
            "| ratio built-in / {name} | {:.2} | {:.2} |",
            b.0 / other.0,
            b.1 / other.1
        );
    }
    drop(cluster);
    skiff_tests::remove_scratch_dirs();
    Ok(())
}
