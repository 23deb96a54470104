//! The ceiling of an encrypted tunnel on this machine (issue 16): one TCP stream over
//! loopback, 256 KiB writes, each end on its own thread (current-thread runtime): `plain`,
//! `tls` (TLS 1.3, rustls + ring, the socket read-buffered as the tunnel's), and `relayed`
//! (plain -> relay -> TLS -> relay -> plain: the tunnel's hops without HTTP/2).
//! Usage: `tls-ceiling plain|tls|relayed SECONDS [AES_256|AES_128|CHACHA]`.
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const CH: usize = 256 * 1024;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn sink(mut r: impl AsyncRead + Unpin) -> u64 {
    let mut buf = vec![0u8; CH];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf).await.unwrap_or(0);
        if k == 0 {
            return n;
        }
        n += k as u64;
    }
}
async fn source(mut w: impl AsyncWrite + Unpin, secs: f64) {
    let data = vec![7u8; CH];
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs_f64(secs) {
        w.write_all(&data).await.unwrap();
    }
    w.shutdown().await.unwrap();
}
async fn copy(mut r: impl AsyncRead + Unpin, mut w: impl AsyncWrite + Unpin) {
    let mut buf = vec![0u8; CH];
    loop {
        let k = r.read(&mut buf).await.unwrap_or(0);
        if k == 0 {
            break;
        }
        w.write_all(&buf[..k]).await.unwrap();
    }
    w.shutdown().await.unwrap();
}

struct Tls {
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}
fn tls(suite: &str) -> Tls {
    let ck = rcgen::generate_simple_self_signed(vec!["x".into()]).unwrap();
    let cert: CertificateDer<'static> = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let mut provider = rustls::crypto::ring::default_provider();
    provider
        .cipher_suites
        .retain(|s| format!("{:?}", s.suite()).contains(suite));
    let provider = Arc::new(provider);
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Tls {
        server: Arc::new(server),
        client: Arc::new(client),
    }
}

/// The receiving end (node A): accept, TLS unless `plain`, then count the bytes, or (`relayed`)
/// copy them to a plain sink over loopback (the pod's listener).
async fn receive_end(
    mode: &str,
    l: std::net::TcpListener,
    server: Arc<rustls::ServerConfig>,
) -> u64 {
    let l = TcpListener::from_std(l).unwrap();
    let (s, _) = l.accept().await.unwrap();
    s.set_nodelay(true).unwrap();
    if mode == "plain" {
        return sink(s).await;
    }
    let tls = tokio_rustls::TlsAcceptor::from(server)
        .accept(BufReader::with_capacity(CH, s))
        .await
        .unwrap();
    if mode == "tls" {
        return sink(tls).await;
    }
    let l2 = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a2 = l2.local_addr().unwrap();
    let podsink = std::thread::spawn(move || {
        rt().block_on(async move { sink(l2.accept().await.unwrap().0).await })
    });
    copy(tls, TcpStream::connect(a2).await.unwrap()).await;
    podsink.join().unwrap()
}

/// The sending end (node B): connect, TLS unless `plain`, then send for `secs`, or (`relayed`)
/// relay what a "guest" thread sends over loopback.
async fn send_end(
    mode: &str,
    addr: std::net::SocketAddr,
    client: Arc<rustls::ClientConfig>,
    secs: f64,
) {
    let s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    if mode == "plain" {
        return source(s, secs).await;
    }
    let tls = tokio_rustls::TlsConnector::from(client)
        .connect(
            ServerName::try_from("x").unwrap(),
            BufReader::with_capacity(CH, s),
        )
        .await
        .unwrap();
    if mode == "tls" {
        return source(tls, secs).await;
    }
    let l3 = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a3 = l3.local_addr().unwrap();
    let guest = std::thread::spawn(move || {
        rt().block_on(async move { source(TcpStream::connect(a3).await.unwrap(), secs).await })
    });
    copy(l3.accept().await.unwrap().0, tls).await;
    guest.join().unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, secs, suite) = (
        args[1].clone(),
        args[2].parse::<f64>().unwrap(),
        args.get(3).cloned().unwrap_or("AES_256".into()),
    );
    let t = tls(&suite);
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let addr = l.local_addr().unwrap();
    let (server, client) = (t.server.clone(), t.client.clone());
    let m2 = mode.clone();
    let recv = std::thread::spawn(move || rt().block_on(receive_end(&m2, l, server)));
    let t0 = Instant::now();
    rt().block_on(send_end(&mode, addr, client, secs));
    let n = recv.join().unwrap();
    let rate = n as f64 / t0.elapsed().as_secs_f64() / 1e6;
    println!("{mode} {suite}: {rate:.0} MB/s");
}
