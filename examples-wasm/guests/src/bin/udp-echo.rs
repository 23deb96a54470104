//! UDP echo server on 0.0.0.0:$PORT (default 7001); sends every datagram back to its sender.
use std::net::UdpSocket;

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "7001".into());
    let socket = UdpSocket::bind(format!("0.0.0.0:{port}"))?;
    println!("udp-echo listening on {}", socket.local_addr()?);
    let mut buf = [0u8; 65536];
    loop {
        let (n, peer) = socket.recv_from(&mut buf)?;
        println!("datagram of {n} bytes from {peer}");
        socket.send_to(&buf[..n], peer)?;
    }
}
