//! `codec-bench`: issue 18's benchmark. The API server's Pod create and list throughput with
//! Kubernetes protobuf against JSON, through one load generator (`skiff_bench::api::codec`),
//! the two codecs alternating within every round; prints every run and the protobuf/JSON
//! ratios (median over rounds). `bench/api/codec.sh` starts the server and drives it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use bytes::Bytes;
use clap::Parser;
use http::Method;
use serde_json::json;
use skiff_bench::api::codec::{self, Codec, Op};
use skiff_bench::conn::Endpoint;
use skiff_bench::stats::Summary;

#[derive(Parser)]
#[command(about = "Pod create and list throughput, protobuf against JSON")]
struct Cli {
    /// The replica's URL (https://127.0.0.1:P).
    #[arg(long)]
    endpoint: String,
    /// PEM CA that signed the replica's certificate.
    #[arg(long)]
    ca: PathBuf,
    /// File holding the admin bearer token.
    #[arg(long)]
    token_file: PathBuf,
    /// Client counts, each measured for both ops and both codecs.
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    clients: Vec<usize>,
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Measured window of each run, seconds.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Pods in the listed namespace (each list returns all of them).
    #[arg(long, default_value_t = 100)]
    list_size: usize,
    /// Ops to run (both by default; one alone is for profiling the server on it).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Op::Create, Op::List])]
    ops: Vec<Op>,
    /// Codecs to run (both by default; one alone leaves the ratio table without a ratio).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Codec::Json, Codec::Protobuf])]
    codecs: Vec<Codec>,
    /// The server's pid: each run then also reports the server's CPU time per op.
    #[arg(long)]
    server_pid: Option<u32>,
}

/// One run's throughput, kept for the ratio table.
struct Row {
    op: Op,
    clients: usize,
    codec: Codec,
    ops_per_sec: f64,
    /// Server CPU microseconds per op, if measured.
    cpu_us_per_op: Option<f64>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let token = std::fs::read_to_string(&cli.token_file)
        .with_context(|| format!("read {}", cli.token_file.display()))?;
    let endpoint = Endpoint::parse(&cli.endpoint, Some(&cli.ca), Some(token.trim()))?;
    setup(&endpoint, cli.list_size).await?;
    println!(
        "| op | clients | codec | round | ops/s | answer MB/s | p50 ms | p99 ms | errors | server CPU µs/op |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    let mut run = 0;
    for &op in &cli.ops {
        for &clients in &cli.clients {
            for round in 1..=cli.rounds {
                // Alternate which codec goes first, so drift in the machine's load is shared.
                let order = if round % 2 == 1 {
                    [Codec::Json, Codec::Protobuf]
                } else {
                    [Codec::Protobuf, Codec::Json]
                };
                for codec in order.into_iter().filter(|c| cli.codecs.contains(c)) {
                    run += 1;
                    let spec = Arc::new(codec::Spec {
                        endpoint: endpoint.clone(),
                        codec,
                        op,
                        clients,
                        warmup: Duration::from_secs_f64(cli.warmup),
                        duration: Duration::from_secs_f64(cli.duration),
                        namespace: namespace(op).to_owned(),
                        run,
                        server_pid: cli.server_pid,
                    });
                    let out = codec::run(spec).await?;
                    let ops = out.latencies_us.len() as f64 / cli.duration;
                    let mbps = out.answer_bytes as f64 / cli.duration / 1e6;
                    let done = out.latencies_us.len() as f64;
                    let cpu_us_per_op = out
                        .server_cpu_seconds
                        .filter(|_| done > 0.0)
                        .map(|cpu| cpu * 1e6 / done);
                    let s = Summary::from_micros(out.latencies_us);
                    println!(
                        "| {} | {clients} | {} | {round} | {ops:.0} | {mbps:.1} | {:.2} | {:.2} | {} | {} |",
                        op.name(),
                        codec.name(),
                        s.p50_ms,
                        s.p99_ms,
                        out.errors,
                        cpu_us_per_op.map_or("-".to_owned(), |c| format!("{c:.0}"))
                    );
                    if let Some(e) = out.first_error {
                        eprintln!("first error: {e}");
                    }
                    rows.push(Row {
                        op,
                        clients,
                        codec,
                        ops_per_sec: ops,
                        cpu_us_per_op,
                    });
                }
            }
        }
    }
    print_ratios(&rows, &cli.ops, &cli.clients);
    Ok(())
}

fn namespace(op: Op) -> &'static str {
    match op {
        Op::Create => "codec-create",
        Op::List => "codec-list",
    }
}

/// Both namespaces, and `list_size` Pods in the listed one (created as JSON).
async fn setup(endpoint: &Endpoint, list_size: usize) -> Result<()> {
    let mut conn = endpoint.connect().await?;
    for ns in ["codec-create", "codec-list"] {
        let body = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ns } });
        let (status, answer) = conn
            .post(
                "/api/v1/namespaces",
                Bytes::from(serde_json::to_vec(&body)?),
            )
            .await?;
        ensure!(
            status.is_success() || status.as_u16() == 409,
            "namespace {ns}: {status} {}",
            String::from_utf8_lossy(&answer)
        );
    }
    for i in 0..list_size {
        let pod = codec::pod(&format!("listed-{i:05}"), "codec-list");
        let path = "/api/v1/namespaces/codec-list/pods";
        let body = Bytes::from(serde_json::to_vec(&pod)?);
        let (status, answer) = conn.request(Method::POST, path, body).await?;
        ensure!(
            status.is_success() || status.as_u16() == 409,
            "seeding pod {i}: {status} {}",
            String::from_utf8_lossy(&answer)
        );
    }
    Ok(())
}

/// Median ops/s (and server CPU per op, if measured) of each (op, clients, codec), and
/// protobuf's ratio to JSON.
fn print_ratios(rows: &[Row], ops: &[Op], clients: &[usize]) {
    let cpu = rows.iter().any(|r| r.cpu_us_per_op.is_some());
    print!("\n| op | clients | JSON ops/s | protobuf ops/s | protobuf/JSON |");
    println!(
        "{}",
        if cpu {
            " JSON CPU µs/op | protobuf CPU µs/op | protobuf/JSON |"
        } else {
            ""
        }
    );
    println!(
        "|---|---|---|---|---|{}",
        if cpu { "---|---|---|" } else { "" }
    );
    for &op in ops {
        for &c in clients {
            let of = |codec: Codec| {
                rows.iter()
                    .filter(move |r| r.op == op && r.clients == c && r.codec == codec)
            };
            let ops_per_sec = |codec| median(of(codec).map(|r| r.ops_per_sec));
            let cpu_per_op = |codec| median(of(codec).filter_map(|r| r.cpu_us_per_op));
            let (json, proto) = (ops_per_sec(Codec::Json), ops_per_sec(Codec::Protobuf));
            print!(
                "| {} | {c} | {json:.0} | {proto:.0} | {:.2} |",
                op.name(),
                ratio(proto, json)
            );
            if cpu {
                let (json, proto) = (cpu_per_op(Codec::Json), cpu_per_op(Codec::Protobuf));
                print!(" {json:.0} | {proto:.0} | {:.2} |", ratio(proto, json));
            }
            println!();
        }
    }
}

/// The median of `values`, 0 if there are none.
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn ratio(of: f64, to: f64) -> f64 {
    if to > 0.0 { of / to } else { 0.0 }
}
