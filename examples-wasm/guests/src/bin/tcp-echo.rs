//! TCP echo server on 0.0.0.0:$PORT (default 7000); echoes each connection until it closes.
use std::io::{Read, Write};
use std::net::TcpListener;

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "7000".into());
    let listener = TcpListener::bind(format!("0.0.0.0:{port}"))?;
    println!("tcp-echo listening on {}", listener.local_addr()?);
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let peer = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        println!("connection from {peer}");
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if stream.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
    }
    Ok(())
}
