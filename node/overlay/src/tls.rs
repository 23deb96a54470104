//! Who may use a tunnel: mutual TLS between nodes. Each agent asks the API server (with its
//! node bearer token) for a certificate signed by the cluster CA (`CN=system:node:<name>`,
//! DNS SAN `<name>`, `POST /skiff/v1/node-certificate`); a dialling node verifies the peer's
//! chain to the cluster CA and its name, the accepting node requires a client certificate
//! chaining to the same CA and takes the peer's node name from its subject. Nothing without
//! a certificate from this cluster's CA can open a tunnel, so nothing outside the cluster can
//! inject traffic.

use crate::OverlayError;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use serde::Deserialize;
use std::sync::Arc;
use tokio::io::BufReader;
use tokio::net::TcpStream;

/// Where the API server issues node certificates.
pub const NODE_CERTIFICATE_PATH: &str = "/skiff/v1/node-certificate";
/// The common-name prefix of a node certificate.
const NODE_USER_PREFIX: &str = "system:node:";
/// The tunnels speak HTTP/2 only.
const ALPN_H2: &[u8] = b"h2";

/// Flow-control windows of both ends: large enough that one stream is not held to 64 KiB in
/// flight.
pub(crate) const STREAM_WINDOW: u32 = 4 << 20;
pub(crate) const CONNECTION_WINDOW: u32 = 16 << 20;
/// The largest HTTP/2 frame each end accepts (the default is 16 KiB): a relay's chunk (as
/// large as this) then travels as one frame, one header and one wake-up rather than sixteen.
pub(crate) const MAX_FRAME: u32 = 256 << 10;
/// The read buffer between the tunnel's socket and TLS.
const READ_BUFFER: usize = 256 << 10;

/// The tunnel's socket under TLS, its reading side buffered: rustls reads the socket 4 KiB
/// at a time, so one `recvfrom` now fills up to [`READ_BUFFER`] and rustls reads from memory.
/// Writes are not buffered: rustls hands the socket each batch of encrypted records as one
/// vectored write (up to 64 records, 1 MiB), so a write buffer only added a copy of every byte.
pub(crate) fn tunnel_socket(tcp: TcpStream) -> BufReader<TcpStream> {
    let _ = tcp.set_nodelay(true);
    BufReader::with_capacity(READ_BUFFER, tcp)
}

/// The tunnels' cryptography: ring, TLS 1.3 suites with AES-128-GCM first. Encryption and
/// decryption were the largest single cost of a tunnel's bytes (about 40% of a bare rustls
/// stream's CPU with AES-256-GCM, rustls' first choice); AES-128 runs 10 rounds instead of 14.
/// A peer that prefers another suite of the list still connects (rustls follows the client's
/// order).
fn tunnel_crypto() -> Arc<rustls::crypto::CryptoProvider> {
    use rustls::crypto::ring::cipher_suite::{
        TLS13_AES_128_GCM_SHA256, TLS13_AES_256_GCM_SHA384, TLS13_CHACHA20_POLY1305_SHA256,
    };
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites = vec![
        TLS13_AES_128_GCM_SHA256,
        TLS13_AES_256_GCM_SHA384,
        TLS13_CHACHA20_POLY1305_SHA256,
    ];
    Arc::new(provider)
}

/// This node's certificate and key, and the cluster CA.
pub struct NodeIdentity {
    pub node: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    roots: Arc<RootCertStore>,
}

impl std::fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeIdentity")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IssuedCertificate {
    node_name: String,
    cert_pem: String,
    key_pem: String,
}

impl NodeIdentity {
    /// Asks the API server for this node's certificate through the agent's client.
    pub async fn fetch(client: &kube::Client, ca_pem: &str) -> Result<NodeIdentity, OverlayError> {
        let request = http::Request::post(NODE_CERTIFICATE_PATH)
            .body(Vec::new())
            .map_err(|e| OverlayError::Certificate(e.to_string()))?;
        let issued: IssuedCertificate = client.request(request).await.map_err(|e| match e {
            kube::Error::Api(status) if matches!(status.code, 401 | 403) => {
                OverlayError::Refused(status.message.clone())
            }
            other => OverlayError::Certificate(other.to_string()),
        })?;
        NodeIdentity::from_pem(&issued.node_name, &issued.cert_pem, &issued.key_pem, ca_pem)
    }

    /// An identity from PEM text.
    pub fn from_pem(
        node: &str,
        cert_pem: &str,
        key_pem: &str,
        ca_pem: &str,
    ) -> Result<NodeIdentity, OverlayError> {
        let bad = |what: &str| OverlayError::Certificate(what.to_owned());
        let chain: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| bad(&e.to_string()))?;
        if chain.is_empty() {
            return Err(bad("the node certificate is not PEM"));
        }
        let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())
            .map_err(|e| bad(&e.to_string()))?
            .ok_or_else(|| bad("the node key is not PEM"))?;
        let mut roots = RootCertStore::empty();
        for ca in rustls_pemfile::certs(&mut ca_pem.as_bytes()) {
            let ca = ca.map_err(|e| bad(&e.to_string()))?;
            roots.add(ca).map_err(|e| bad(&e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(bad("the cluster CA is not PEM"));
        }
        Ok(NodeIdentity {
            node: node.to_owned(),
            chain,
            key,
            roots: Arc::new(roots),
        })
    }

    /// The accepting side: a client certificate from the cluster CA is required.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, OverlayError> {
        let provider = tunnel_crypto();
        let verifier =
            WebPkiClientVerifier::builder_with_provider(self.roots.clone(), provider.clone())
                .build()
                .map_err(|e| OverlayError::Certificate(e.to_string()))?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| OverlayError::Certificate(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| OverlayError::Certificate(e.to_string()))?;
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        Ok(Arc::new(config))
    }

    /// The dialling side: trusts the cluster CA only and presents this node's certificate.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, OverlayError> {
        let provider = tunnel_crypto();
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| OverlayError::Certificate(e.to_string()))?
            .with_root_certificates(self.roots.clone())
            .with_client_auth_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| OverlayError::Certificate(e.to_string()))?;
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        Ok(Arc::new(config))
    }
}

/// The node a verified peer certificate names (`CN=system:node:<name>`); `None` for any
/// other certificate of the cluster CA (a replica's serving certificate).
pub fn peer_node(certs: Option<&[CertificateDer<'_>]>) -> Option<String> {
    let leaf = certs?.first()?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
    let common_name = cert.subject().iter_common_name().next()?.as_str().ok()?;
    let node = common_name.strip_prefix(NODE_USER_PREFIX)?;
    (!node.is_empty()).then(|| node.to_owned())
}

#[cfg(test)]
mod tests;
