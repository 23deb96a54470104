//! Direct loopback: the same servers and clients as the `net-bench` guest, as native threads
//! on 127.0.0.1 (no overlay, no wasm), the baseline every path is compared with. The same
//! native clients measure the NodePort paths ([`measure`] on a node's NodePorts).

use super::{ECHO_PORT, Measured, SINK_PORTS, Sample, UDP_PORT, rtt_percentiles, throughput_mbps};
use anyhow::Context;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// The native servers' addresses (ports chosen by the kernel).
pub struct Native {
    targets: Targets,
}

/// Where the clients go: a TCP echo, a UDP echo and the sinks.
#[derive(Debug, Clone)]
pub struct Targets {
    pub echo: SocketAddr,
    pub udp: SocketAddr,
    pub sinks: Vec<SocketAddr>,
}

impl Native {
    /// Starts the servers on threads that live as long as the process.
    pub fn start() -> anyhow::Result<Native> {
        let bind = || TcpListener::bind("127.0.0.1:0");
        let echo = bind()?;
        let echo_addr = echo.local_addr()?;
        std::thread::spawn(move || serve_tcp(echo, false));
        let mut sinks = Vec::new();
        for _ in SINK_PORTS {
            let sink = bind()?;
            sinks.push(sink.local_addr()?);
            std::thread::spawn(move || serve_tcp(sink, true));
        }
        let udp = UdpSocket::bind("127.0.0.1:0")?;
        let udp_addr = udp.local_addr()?;
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while let Ok((n, from)) = udp.recv_from(&mut buf) {
                let _ = udp.send_to(&buf[..n], from);
            }
        });
        let _ = (ECHO_PORT, UDP_PORT);
        let targets = Targets {
            echo: echo_addr,
            udp: udp_addr,
            sinks,
        };
        Ok(Native { targets })
    }

    /// Every measurement against the native servers, each for `window`.
    pub fn measure(&self, window: Duration) -> anyhow::Result<Measured> {
        measure(&self.targets, window)
    }
}

/// Every measurement from native clients to `targets`, each for `window`.
pub fn measure(targets: &Targets, window: Duration) -> anyhow::Result<Measured> {
    let sink = *targets.sinks.first().context("no sink")?;
    let one = stream(sink, window)?;
    let handles: Vec<_> = targets
        .sinks
        .iter()
        .map(|&sink| std::thread::spawn(move || stream(sink, window)))
        .collect();
    let mut eight = Vec::new();
    for h in handles {
        eight.push(
            h.join()
                .map_err(|_| anyhow::anyhow!("a stream thread panicked"))??,
        );
    }
    let (p50, p99) = rtt_percentiles(&rtt(targets.echo, window)?);
    let udp = udp(targets.udp, window)?;
    Ok(Measured {
        one_stream_mbps: throughput_mbps(&[one]),
        eight_streams_mbps: throughput_mbps(&eight),
        rtt_p50_us: p50,
        rtt_p99_us: p99,
        udp_round_trips_per_s: udp.rounds as f64 / udp.secs.max(1e-9),
    })
}

fn serve_tcp(listener: TcpListener, sink: bool) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        std::thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let mut buf = vec![0u8; 256 * 1024];
            let mut count = 0u64;
            loop {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) if sink => count += n as u64,
                    Ok(n) => {
                        if stream.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
            if sink {
                let _ = stream.write_all(&count.to_be_bytes());
            }
        });
    }
}

fn stream(target: SocketAddr, window: Duration) -> anyhow::Result<Sample> {
    let mut s = TcpStream::connect(target)?;
    let buf = vec![7u8; 64 * 1024];
    let started = Instant::now();
    while started.elapsed() < window {
        s.write_all(&buf)?;
    }
    s.shutdown(std::net::Shutdown::Write)?;
    let mut count = [0u8; 8];
    s.read_exact(&mut count)?;
    Ok(Sample {
        received: u64::from_be_bytes(count),
        secs: started.elapsed().as_secs_f64(),
        ..Sample::default()
    })
}

fn rtt(target: SocketAddr, window: Duration) -> anyhow::Result<Sample> {
    let mut s = TcpStream::connect(target)?;
    s.set_nodelay(true)?;
    let (msg, mut back) = ([1u8; 64], [0u8; 64]);
    let mut rtts_ns = Vec::new();
    let started = Instant::now();
    while started.elapsed() < window {
        let at = Instant::now();
        s.write_all(&msg)?;
        s.read_exact(&mut back)?;
        rtts_ns.push(u64::try_from(at.elapsed().as_nanos()).unwrap_or(u64::MAX));
    }
    Ok(Sample {
        rtts_ns,
        ..Sample::default()
    })
}

fn udp(target: SocketAddr, window: Duration) -> anyhow::Result<Sample> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    let (msg, mut back) = ([2u8; 64], [0u8; 64]);
    let mut rounds = 0u64;
    let started = Instant::now();
    while started.elapsed() < window {
        socket.send_to(&msg, target)?;
        if socket.recv_from(&mut back).is_ok() {
            rounds += 1;
        }
    }
    Ok(Sample {
        rounds,
        secs: started.elapsed().as_secs_f64(),
        ..Sample::default()
    })
}
