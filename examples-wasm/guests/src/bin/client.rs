//! Calls a Service by name in a loop and prints each reply.
//!
//! Env: TARGET (host:port, default `echo:7000`), PROTO (`tcp` or `udp`),
//! COUNT (rounds, default unbounded), INTERVAL_MS (default 200), UDP_WAIT_MS (default 2000).
//! A UDP reply that does not come within UDP_WAIT_MS is an error (`timed out`), as is a
//! refused or reset TCP connection.
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

/// How long a UDP round waits for its reply (UDP_WAIT_MS).
fn udp_wait() -> Duration {
    Duration::from_millis(env("UDP_WAIT_MS", "2000").parse().unwrap_or(2000))
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.into())
}

fn round(proto: &str, target: &str, i: u64) -> std::io::Result<String> {
    let msg = format!("ping {i}");
    let mut buf = [0u8; 1024];
    let n = if proto == "udp" {
        let addr = target
            .to_socket_addrs()?
            .next()
            .ok_or(std::io::ErrorKind::NotFound)?;
        let socket = UdpSocket::bind("0.0.0.0:0")?;
        socket.send_to(msg.as_bytes(), addr)?;
        receive_within(&socket, &mut buf, udp_wait())?
    } else {
        let mut stream = TcpStream::connect(target)?;
        stream.write_all(msg.as_bytes())?;
        stream.read(&mut buf)?
    };
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// One datagram, or `TimedOut` after `limit` (wasip2 has no socket read timeout: the socket
/// is polled without blocking).
fn receive_within(socket: &UdpSocket, buf: &mut [u8], limit: Duration) -> std::io::Result<usize> {
    socket.set_nonblocking(true)?;
    let deadline = Instant::now() + limit;
    loop {
        match socket.recv_from(buf) {
            Ok((n, _)) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Err(ErrorKind::TimedOut.into()),
            Err(e) => return Err(e),
        }
    }
}

fn main() {
    let target = env("TARGET", "echo:7000");
    let proto = env("PROTO", "tcp");
    let count: u64 = env("COUNT", "0").parse().unwrap_or(0);
    let interval = Duration::from_millis(env("INTERVAL_MS", "200").parse().unwrap_or(200));
    let mut failures = 0u64;
    let mut i = 0u64;
    while count == 0 || i < count {
        match round(&proto, &target, i) {
            Ok(reply) => println!("reply {i} from {target}: {reply}"),
            Err(e) => {
                failures += 1;
                println!("error {i} calling {target}: {e}");
            }
        }
        i += 1;
        std::thread::sleep(interval);
    }
    std::process::exit(if failures == 0 { 0 } else { 2 });
}
