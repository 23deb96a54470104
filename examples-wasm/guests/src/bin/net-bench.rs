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
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
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
    Ok(format!(r#"{{"mode":"stream","sent":{sent},"received":{received},"secs":{secs}}}"#))
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

fn udp(target: &str, window: Duration) -> std::io::Result<String> {
    let to: SocketAddr = target.to_socket_addrs()?.next().ok_or(ErrorKind::NotFound)?;
    let socket = UdpSocket::bind("0.0.0.0:0")?;
    socket.set_nonblocking(true)?;
    let msg = [2u8; 64];
    let mut back = [0u8; 64];
    let (mut rounds, mut lost) = (0u64, 0u64);
    let started = Instant::now();
    while started.elapsed() < window {
        socket.send_to(&msg, to)?;
        let sent = Instant::now();
        loop {
            match socket.recv_from(&mut back) {
                Ok(_) => {
                    rounds += 1;
                    break;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if sent.elapsed() > Duration::from_millis(200) {
                        lost += 1;
                        break;
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(format!(r#"{{"mode":"udp","rounds":{rounds},"lost":{lost},"secs":{secs}}}"#))
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
