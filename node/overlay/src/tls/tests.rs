//! The tunnels' TLS between two node identities of one cluster CA, over a real loopback
//! connection: which suite they agree on, and that bytes cross the read-buffered socket.

#![allow(clippy::unwrap_used, reason = "a test: a panic is its failure report")]

use super::{NodeIdentity, peer_node, tunnel_socket};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    SanType,
};
use rustls::CipherSuite;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Two identities (`node-a`, `node-b`) signed by one fresh CA.
fn two_nodes() -> (NodeIdentity, NodeIdentity) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name.push(DnType::CommonName, "test-ca");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_pem = ca.clone().self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, &ca_key);
    let node = |name: &str| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        let common_name = format!("system:node:{name}");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.subject_alt_names = vec![SanType::DnsName(name.to_owned().try_into().unwrap())];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.signed_by(&key, &issuer).unwrap();
        NodeIdentity::from_pem(name, &cert.pem(), &key.serialize_pem(), &ca_pem).unwrap()
    };
    (node("node-a"), node("node-b"))
}

#[tokio::test]
async fn tunnels_agree_on_aes_128_gcm_and_carry_bytes_both_ways() {
    let (a, b) = two_nodes();
    let (server, client) = (a.server_config().unwrap(), b.client_config().unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(server);
        let mut tls = acceptor.accept(tunnel_socket(tcp)).await.unwrap();
        let peer = peer_node(tls.get_ref().1.peer_certificates());
        let mut got = vec![0; 1 << 20];
        tls.read_exact(&mut got).await.unwrap();
        tls.write_all(&got[..1000]).await.unwrap();
        tls.flush().await.unwrap();
        (peer, got)
    });
    let tcp = TcpStream::connect(addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(client);
    let name = ServerName::try_from("node-a").unwrap();
    let mut tls = connector.connect(name, tunnel_socket(tcp)).await.unwrap();
    let suite = tls.get_ref().1.negotiated_cipher_suite().unwrap().suite();
    assert_eq!(suite, CipherSuite::TLS13_AES_128_GCM_SHA256);
    let sent: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    tls.write_all(&sent).await.unwrap();
    tls.flush().await.unwrap();
    let mut echoed = vec![0; 1000];
    tls.read_exact(&mut echoed).await.unwrap();
    let (peer, got) = served.await.unwrap();
    assert_eq!(peer.as_deref(), Some("node-b"));
    assert!(got == sent, "the bytes changed on the way");
    assert_eq!(echoed, sent[..1000]);
}
