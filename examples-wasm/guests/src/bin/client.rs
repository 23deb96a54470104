//! Calls a Service by name in a loop and prints each reply.
//!
//! Env: TARGET (host:port, default `echo:7000`), PROTO (`tcp` or `udp`),
//! COUNT (rounds, default unbounded), INTERVAL_MS (default 200).
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

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
        let _ = socket.set_read_timeout(Some(Duration::from_secs(2)));
        socket.send_to(msg.as_bytes(), addr)?;
        socket.recv_from(&mut buf)?.0
    } else {
        let mut stream = TcpStream::connect(target)?;
        stream.write_all(msg.as_bytes())?;
        stream.read(&mut buf)?
    };
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
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
