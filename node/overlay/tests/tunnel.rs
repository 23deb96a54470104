//! Two overlays in one process, each with its own tunnel listener on loopback and real TLS:
//! a "pod" on node a reaches a "pod" on node b by its virtual address over TCP and UDP, the
//! receiving side sees the sender's pod address, and a node holding another CA's certificate
//! cannot open a tunnel. The pods are real loopback sockets registered through `PodNetwork`,
//! as runtime-wasm's socket wrapper registers a guest's.

#![allow(
    clippy::unwrap_used,
    reason = "the helpers below run only inside this test; a panic is its failure report"
)]

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    SanType,
};
use skiff_overlay::cidr::Cidr;
use skiff_overlay::tables::NodeEntry;
use skiff_overlay::{NodeIdentity, Overlay, OverlayConfig, Tables};
use skiff_runtime_wasm::network::{NetError, PodNetwork, PodRef, Proto};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, UdpSocket};
use tokio_util::sync::CancellationToken;

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

fn ca() -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "test-ca");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let pem = params.clone().self_signed(&key).unwrap().pem();
    Ca { params, key, pem }
}

fn identity(ca: &Ca, node: &str) -> NodeIdentity {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, format!("system:node:{node}"));
    params.subject_alt_names = vec![SanType::DnsName(node.to_owned().try_into().unwrap())];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let issuer = Issuer::new(ca.params.clone(), &ca.key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    NodeIdentity::from_pem(node, &cert.pem(), &key.serialize_pem(), &ca.pem).unwrap()
}

fn pod(ip: &str) -> PodRef {
    PodRef {
        ip: ip.parse().unwrap(),
        namespace: "ns".into(),
    }
}

/// Node `name` with tables naming both nodes' ranges and tunnels.
async fn node(
    identity: NodeIdentity,
    tables: Arc<RwLock<Tables>>,
    shutdown: &CancellationToken,
) -> (Overlay, SocketAddr) {
    let config = OverlayConfig {
        identity,
        listen: "127.0.0.1:0".parse().unwrap(),
        tables,
        router: None,
    };
    Overlay::bind(config, shutdown.clone()).await.unwrap()
}

fn fill(tables: &RwLock<Tables>, a: SocketAddr, b: SocketAddr) {
    let mut t = skiff_sync::write(tables);
    for (name, cidr, tunnel) in [("a", "10.244.0.0/24", a), ("b", "10.244.1.0/24", b)] {
        let entry = NodeEntry {
            pod_cidr: Cidr::parse(cidr),
            tunnel: Some(tunnel),
        };
        t.nodes.insert(name.into(), entry);
    }
}

/// A TCP "guest" socket of `pod`, bound and registered as the socket wrapper does.
fn guest_tcp(net: &Overlay, pod: &PodRef) -> TcpSocket {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let real = socket.local_addr().unwrap();
    net.bound(pod, Proto::Tcp, "0.0.0.0:0".parse().unwrap(), real)
        .unwrap();
    socket
}

/// Whether a connection to `relay` is reset or ended without a byte (a refused flow).
async fn closed_at_once(socket: TcpSocket, relay: SocketAddr) -> bool {
    let Ok(mut stream) = socket.connect(relay).await else {
        return true;
    };
    let _ = stream.write_all(b"inject").await;
    let mut buf = [0u8; 1];
    matches!(stream.read(&mut buf).await, Ok(0) | Err(_))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_reach_pods_of_another_node_and_strangers_cannot_tunnel() {
    let result = tokio::time::timeout(Duration::from_secs(60), scenario()).await;
    result.expect("the scenario finished within 60 s");
}

async fn scenario() {
    let cluster = ca();
    let shutdown = CancellationToken::new();
    let (tables_a, tables_b) = (Arc::default(), Arc::default());
    let (net_a, addr_a) = node(identity(&cluster, "a"), Arc::clone(&tables_a), &shutdown).await;
    let (net_b, addr_b) = node(identity(&cluster, "b"), Arc::clone(&tables_b), &shutdown).await;
    fill(&tables_a, addr_a, addr_b);
    fill(&tables_b, addr_a, addr_b);
    let runs = [
        tokio::spawn(net_a.clone().run_with(std::future::ready(()))),
        tokio::spawn(net_b.clone().run_with(std::future::ready(()))),
    ];
    let (client, server) = (pod("10.244.0.2"), pod("10.244.1.2"));

    let (listener, local) = tcp_across(&net_a, &net_b, &client, &server).await;
    udp_across(&net_a, &net_b, &client, &server).await;
    refusals(&net_a, &client).await;

    // A node with another CA's certificate: its flows never reach pod b.
    let stranger_ca = ca();
    let tables_x: Arc<RwLock<Tables>> = Arc::default();
    let (net_x, addr_x) = node(
        identity(&stranger_ca, "a"),
        Arc::clone(&tables_x),
        &shutdown,
    )
    .await;
    fill(&tables_x, addr_x, addr_b);
    let run_x = tokio::spawn(net_x.clone().run_with(std::future::ready(())));
    let relay = net_x.connect(&client, local).unwrap();
    assert!(closed_at_once(guest_tcp(&net_x, &client), relay).await);
    let nothing = tokio::time::timeout(Duration::from_millis(500), listener.accept()).await;
    assert!(nothing.is_err(), "a stranger's flow reached the pod");

    shutdown.cancel();
    for run in runs.into_iter().chain([run_x]) {
        run.await.unwrap();
    }
}

/// TCP from `client` on a to a listener of `server` on b; returns the listener and its
/// virtual address.
async fn tcp_across(
    net_a: &Overlay,
    net_b: &Overlay,
    client: &PodRef,
    server: &PodRef,
) -> (TcpListener, SocketAddr) {
    // TCP: a listener of pod b at 10.244.1.2:7000.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let wanted: SocketAddr = "0.0.0.0:7000".parse().unwrap();
    let local = net_b
        .bound(server, Proto::Tcp, wanted, listener.local_addr().unwrap())
        .unwrap();
    net_b.listen(server, local).unwrap();
    let relay = net_a.connect(client, local).unwrap();
    assert!(relay.ip().is_loopback(), "{relay}");
    let socket = guest_tcp(net_a, client);
    let mut stream = socket.connect(relay).await.unwrap();
    let client_virtual = net_a.virtual_of(Proto::Tcp, stream.local_addr().unwrap());
    stream.write_all(b"ping").await.unwrap();
    let (mut accepted, peer) = listener.accept().await.unwrap();
    assert_eq!(net_b.virtual_of(Proto::Tcp, peer), client_virtual);
    assert_eq!(client_virtual.map(|v| v.ip()), Some(client.ip));
    let mut buf = [0u8; 4];
    accepted.read_exact(&mut buf).await.unwrap();
    accepted.write_all(b"pong").await.unwrap();
    stream.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"pong");

    (listener, local)
}

/// UDP from `client` on a to a socket of `server` on b, and the reply.
async fn udp_across(net_a: &Overlay, net_b: &Overlay, client: &PodRef, server: &PodRef) {
    // UDP: pod b's socket at 10.244.1.2:7001 answers whoever sent.
    let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let echo_local = net_b
        .bound(
            server,
            Proto::Udp,
            "0.0.0.0:7001".parse().unwrap(),
            echo.local_addr().unwrap(),
        )
        .unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sender_local = net_a
        .bound(
            client,
            Proto::Udp,
            "0.0.0.0:0".parse().unwrap(),
            sender.local_addr().unwrap(),
        )
        .unwrap();
    let to = net_a.send(client, echo_local).unwrap();
    sender.send_to(b"datagram", to).await.unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = echo.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"datagram");
    let from_virtual = net_b.virtual_of(Proto::Udp, from).unwrap();
    assert_eq!(from_virtual, sender_local);
    let back = net_b.send(server, from_virtual).unwrap();
    assert_eq!(
        back, from,
        "the reply leaves through the relay that stands for the sender"
    );
    echo.send_to(b"reply", back).await.unwrap();
    let (n, from) = sender.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"reply");
    assert_eq!(net_a.virtual_of(Proto::Udp, from), Some(echo_local));
}

/// Unmapped addresses: refused inside the overlay, unreachable outside it, no Service router.
async fn refusals(net_a: &Overlay, client: &PodRef) {
    // Unmapped: refused inside the overlay, unreachable outside it, no Service router.
    for (target, refused) in [
        ("10.244.1.2:7999", false),
        ("10.244.9.9:80", true),
        ("10.96.0.10:80", true),
        ("10.1.2.3:80", false),
        ("192.0.2.1:80", false),
    ] {
        let target: SocketAddr = target.parse().unwrap();
        let got = net_a.connect(client, target);
        if target.ip().to_string().starts_with("10.244.1.") {
            // A peer's address: the relay is handed out, and the peer refuses the flow.
            let relay = got.unwrap();
            assert!(closed_at_once(guest_tcp(net_a, client), relay).await);
        } else if refused {
            assert_eq!(got, Err(NetError::Refused(target)));
        } else {
            assert_eq!(got, Err(NetError::Unreachable(target)));
        }
    }
}
