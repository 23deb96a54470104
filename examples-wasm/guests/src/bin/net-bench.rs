//! The network benchmark's guest (bench/ `net-bench`), both ends.
//!
//! Servers, blocking, one connection at a time on `PORT` (a pod runs one container per
//! port, so nothing polls): `ROLE=sink` reads until EOF and answers the byte count (8 bytes,
//! big-endian), `ROLE=echo` echoes TCP, `ROLE=udp-echo` echoes datagrams. None logs per
//! connection or datagram.
//!
//! `ROLE=client`: waits until `START_MS` (Unix milliseconds), runs `MODE` against `TARGET`
//! (`host:port`) for `SECONDS`, and prints one JSON line: `stream` (64 KiB writes into a sink: bytes), `rtt` (64-byte echoes in lockstep:
//! every round trip's microseconds), `udp` (64-byte datagrams in lockstep: round trips).
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.into())
}

/// Blocking TCP server on `port`, one connection at a time: `sink` reads until EOF and
/// answers the byte count (8 bytes, big-endian); otherwise it echoes.
fn tcp_server(port: &str, sink: bool) -> std::io::Result<()> {
    let listener = TcpListener::bind(format!("0.0.0.0:{port}"))?;
    println!("net-bench {} on {port}", if sink { "sink" } else { "echo" });
    let mut buf = vec![0u8; 256 * 1024];
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let _ = stream.set_nodelay(true);
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
    }
    Ok(())
}

/// Blocking UDP echo on `port`.
fn udp_server(port: &str) -> std::io::Result<()> {
    let socket = UdpSocket::bind(format!("0.0.0.0:{port}"))?;
    println!("net-bench udp echo on {port}");
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, from) = socket.recv_from(&mut buf)?;
        let _ = socket.send_to(&buf[..n], from);
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

fn stream(target: &str, window: Duration) -> std::io::Result<String> {
    let mut s = TcpStream::connect(target)?;
    let buf = vec![7u8; 64 * 1024];
    let started = Instant::now();
    let mut sent = 0u64;
    while started.elapsed() < window {
        s.write_all(&buf)?;
        sent += buf.len() as u64;
    }
    s.shutdown(std::net::Shutdown::Write)?;
    let mut count = [0u8; 8];
    s.read_exact(&mut count)?;
    let secs = started.elapsed().as_secs_f64();
    let received = u64::from_be_bytes(count);
    Ok(format!(
        r#"{{"mode":"stream","sent":{sent},"received":{received},"secs":{secs}}}"#
    ))
}

fn rtt(target: &str, window: Duration) -> std::io::Result<String> {
    let mut s = TcpStream::connect(target)?;
    s.set_nodelay(true)?;
    let msg = [1u8; 64];
    let mut back = [0u8; 64];
    let mut samples = Vec::new();
    let started = Instant::now();
    while started.elapsed() < window {
        let at = Instant::now();
        s.write_all(&msg)?;
        s.read_exact(&mut back)?;
        samples.push(at.elapsed().as_nanos() as u64);
    }
    Ok(format!(r#"{{"mode":"rtt","samples_ns":{samples:?}}}"#))
}

/// How long a UDP round trip may take before the datagram counts as lost.
const UDP_LOST_NS: u64 = 200_000_000;

/// 64-byte datagrams in lockstep. The client waits for each answer in `wasi:io/poll` (the
/// socket's pollable beside a 200 ms timer), as a blocking program would: std's `UdpSocket`
/// has no read timeout on wasip2, and polling it without blocking keeps the guest spinning
/// on its tokio worker, which then runs late the very task that receives the answer.
fn udp(target: &str, window: Duration) -> std::io::Result<String> {
    use wasip2::sockets::network::{IpAddressFamily, IpSocketAddress, Ipv4SocketAddress};
    use wasip2::sockets::udp::OutgoingDatagram;
    let to: SocketAddr = target
        .to_socket_addrs()?
        .next()
        .ok_or(ErrorKind::NotFound)?;
    let SocketAddr::V4(to) = to else {
        return Err(ErrorKind::Unsupported.into());
    };
    let fail = |e: wasip2::sockets::network::ErrorCode| std::io::Error::other(format!("{e:?}"));
    let network = wasip2::sockets::instance_network::instance_network();
    let socket = wasip2::sockets::udp_create_socket::create_udp_socket(IpAddressFamily::Ipv4)
        .map_err(fail)?;
    let any = IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port: 0,
        address: (0, 0, 0, 0),
    });
    socket.start_bind(&network, any).map_err(fail)?;
    socket.subscribe().block();
    socket.finish_bind().map_err(fail)?;
    let [a, b, c, d] = to.ip().octets();
    let remote = IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port: to.port(),
        address: (a, b, c, d),
    });
    let (incoming, outgoing) = socket.stream(Some(remote)).map_err(fail)?;
    let (readable, writable) = (incoming.subscribe(), outgoing.subscribe());
    let msg = vec![2u8; 64];
    let (mut rounds, mut lost) = (0u64, 0u64);
    let started = Instant::now();
    while started.elapsed() < window {
        while outgoing.check_send().map_err(fail)? == 0 {
            writable.block();
        }
        let datagram = OutgoingDatagram {
            data: msg.clone(),
            remote_address: None,
        };
        outgoing.send(&[datagram]).map_err(fail)?;
        let timer = wasip2::clocks::monotonic_clock::subscribe_duration(UDP_LOST_NS);
        loop {
            if !incoming.receive(1).map_err(fail)?.is_empty() {
                rounds += 1;
                break;
            }
            if wasip2::io::poll::poll(&[&readable, &timer]).contains(&1) {
                lost += 1;
                break;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(format!(
        r#"{{"mode":"udp","rounds":{rounds},"lost":{lost},"secs":{secs}}}"#
    ))
}

fn client() -> std::io::Result<()> {
    let target = env("TARGET", "127.0.0.1:7100");
    let window = Duration::from_secs(env("SECONDS", "3").parse().unwrap_or(3));
    let start: u128 = env("START_MS", "0").parse().unwrap_or(0);
    while now_ms() < start {
        std::thread::sleep(Duration::from_millis(1));
    }
    let line = match env("MODE", "stream").as_str() {
        "rtt" => rtt(&target, window)?,
        "udp" => udp(&target, window)?,
        _ => stream(&target, window)?,
    };
    println!("{line}");
    Ok(())
}

fn main() -> std::io::Result<()> {
    let port = env("PORT", "7100");
    match env("ROLE", "client").as_str() {
        "sink" => tcp_server(&port, true),
        "echo" => tcp_server(&port, false),
        "udp-echo" => udp_server(&port),
        _ => client(),
    }
}
