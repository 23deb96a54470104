//! The network benchmark (`net-bench`, issue 16): the same measurements over every path a
//! pod's traffic can take, run side by side and alternating, with ratios to direct loopback.
//!
//! Paths: direct loopback (native threads on 127.0.0.1, no skiff), pod to pod on one node,
//! pod to pod across nodes (two agents on 127.0.0.2 and 127.0.0.3, TLS tunnel between them),
//! through a Service VIP (ClusterIP), and from the host through a NodePort of the server
//! pod's node and of the other node (native clients, as direct loopback's). Measurements, each for `seconds`: TCP throughput of
//! one stream and of 8 concurrent streams into sinks, the 64-byte TCP round trip (p50, p99),
//! and UDP round trips per second (64-byte datagrams in lockstep, so 2 packets each).
//! The pods run the `net-bench` guest (examples-wasm): one server pod of 10 containers
//! (echo, UDP echo, 8 sinks, each blocking on its own port) and one client pod per stream.
//! Then, once (`wake`): the first request of a scaled-to-zero HTTP Service against warm ones.

mod native;
mod pods;
mod wake;

pub use native::{Native, Targets, measure as measure_targets};
pub use pods::Cluster;
pub use wake::{ColdStart, measure_cold_start};

/// kube-proxy's published throughput as a share of direct pod-to-pod, as issue 16 quotes it.
pub const KUBE_PROXY_USERSPACE: f64 = 0.36;
pub const KUBE_PROXY_IPTABLES: f64 = 0.96;

/// The TCP ports of the server: echo, then the sinks; UDP echo on [`UDP_PORT`].
pub const ECHO_PORT: u16 = 7100;
pub const UDP_PORT: u16 = 7101;
pub const SINK_PORTS: [u16; 8] = [7102, 7103, 7104, 7105, 7106, 7107, 7108, 7109];

/// A path traffic takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    Direct,
    SameNode,
    AcrossNodes,
    ServiceVip,
    /// From the host to a NodePort of the server pod's node (`net-a`).
    NodePort,
    /// From the host to a NodePort of the other node (`net-b`, then the tunnel).
    NodePortOtherNode,
}

impl Path {
    pub const ALL: [Path; 6] = [
        Path::Direct,
        Path::SameNode,
        Path::AcrossNodes,
        Path::ServiceVip,
        Path::NodePort,
        Path::NodePortOtherNode,
    ];

    /// The name `net-bench --paths` takes.
    pub fn flag(self) -> &'static str {
        match self {
            Path::Direct => "direct",
            Path::SameNode => "same-node",
            Path::AcrossNodes => "across-nodes",
            Path::ServiceVip => "service-vip",
            Path::NodePort => "node-port",
            Path::NodePortOtherNode => "node-port-other-node",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Path::Direct => "direct loopback",
            Path::SameNode => "pod to pod, one node",
            Path::AcrossNodes => "pod to pod, across nodes",
            Path::ServiceVip => "Service VIP (ClusterIP)",
            Path::NodePort => "NodePort, pod's node",
            Path::NodePortOtherNode => "NodePort, other node",
        }
    }
}

/// What one client reported.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Bytes the sink received (stream) and seconds the client ran.
    pub received: u64,
    pub secs: f64,
    /// Round-trip times in nanoseconds (rtt).
    pub rtts_ns: Vec<u64>,
    /// Completed UDP round trips (udp).
    pub rounds: u64,
}

impl Sample {
    /// From a client's JSON line (the guest's or the native client's).
    pub fn parse(line: &str) -> anyhow::Result<Sample> {
        let v: serde_json::Value = serde_json::from_str(line.trim())?;
        let rtts = v["samples_ns"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_u64()).collect());
        Ok(Sample {
            received: v["received"].as_u64().unwrap_or(0),
            secs: v["secs"].as_f64().unwrap_or(0.0),
            rtts_ns: rtts.unwrap_or_default(),
            rounds: v["rounds"].as_u64().unwrap_or(0),
        })
    }
}

/// One path's results in one round.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub one_stream_mbps: f64,
    pub eight_streams_mbps: f64,
    pub rtt_p50_us: f64,
    pub rtt_p99_us: f64,
    pub udp_round_trips_per_s: f64,
}

/// MB/s of streams that ran side by side: the sum of their rates.
pub fn throughput_mbps(samples: &[Sample]) -> f64 {
    samples
        .iter()
        .filter(|s| s.secs > 0.0)
        .map(|s| s.received as f64 / s.secs / 1e6)
        .sum()
}

/// p50 and p99 of the round trips, microseconds (nearest rank).
pub fn rtt_percentiles(sample: &Sample) -> (f64, f64) {
    let mut v = sample.rtts_ns.clone();
    if v.is_empty() {
        return (0.0, 0.0);
    }
    v.sort_unstable();
    let at = |p: f64| {
        let rank = (p * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1] as f64 / 1000.0
    };
    (at(0.50), at(0.99))
}

/// Prints one round's table; ratios are to the direct row.
pub fn print_round(round: usize, rows: &[(Path, Option<Measured>)]) {
    let direct = rows
        .iter()
        .find(|(p, _)| *p == Path::Direct)
        .and_then(|(_, m)| m.clone());
    println!("\nround {round}\n");
    println!(
        "| path | 1 stream MB/s | vs direct | 8 streams MB/s | vs direct | RTT p50 us | +us vs direct | RTT p99 us | UDP round trips/s | vs direct |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (path, measured) in rows {
        let Some(m) = measured else {
            println!("| {} | not measured | | | | | | | | |", path.label());
            continue;
        };
        let d = direct.clone().unwrap_or_default();
        let ratio = |a: f64, b: f64| {
            if b > 0.0 {
                format!("{:.0}%", 100.0 * a / b)
            } else {
                "-".into()
            }
        };
        println!(
            "| {} | {:.0} | {} | {:.0} | {} | {:.1} | {:+.1} | {:.1} | {:.0} | {} |",
            path.label(),
            m.one_stream_mbps,
            ratio(m.one_stream_mbps, d.one_stream_mbps),
            m.eight_streams_mbps,
            ratio(m.eight_streams_mbps, d.eight_streams_mbps),
            m.rtt_p50_us,
            m.rtt_p50_us - d.rtt_p50_us,
            m.rtt_p99_us,
            m.udp_round_trips_per_s,
            ratio(m.udp_round_trips_per_s, d.udp_round_trips_per_s),
        );
    }
    println!(
        "\nkube-proxy for reference (throughput vs direct): userspace {:.0}%, iptables {:.0}%. Targets: one node >= 70%, across nodes >= 50%, one node RTT p50 <= +20 us.",
        KUBE_PROXY_USERSPACE * 100.0,
        KUBE_PROXY_IPTABLES * 100.0
    );
}
