//! rustls configuration for skiff's HTTPS (ring provider, ALPN h2 + http/1.1) and the
//! server-side handshake helper that logs failures.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::ca::{CertError, ServingCert, cert_der, key_der};

/// ALPN protocols offered and accepted, in preference order.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];
/// A peer that has not finished its handshake by then is dropped, so idle half-open
/// connections cannot pile up.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(transparent)]
    Cert(#[from] CertError),
    #[error("rustls rejected the configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

pub use skiff_trust::crypto_provider;

/// Server configuration presenting `serving`, no client certificates (peers authenticate
/// with bearer tokens), ALPN h2 and http/1.1.
pub fn server_config(serving: &ServingCert) -> Result<Arc<ServerConfig>, TlsError> {
    let cert = cert_der(&serving.cert_pem)?;
    let key = key_der(&serving.key_pem)?;
    let mut config = ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// Client configuration trusting only the cluster CA in `ca_pem`, ALPN h2 and http/1.1.
pub fn client_config(ca_pem: &str) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    roots.add(cert_der(ca_pem)?)?;
    let mut config = ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// A failed server-side handshake, naming the peer.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("TLS handshake from {peer} failed: {source}")]
    Failed {
        peer: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS handshake from {peer} timed out after {:?}", HANDSHAKE_TIMEOUT)]
    TimedOut { peer: SocketAddr },
}

/// Runs the server side of the handshake on `tcp`, bounded by [`HANDSHAKE_TIMEOUT`].
pub async fn try_accept_tls(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
) -> Result<TlsStream<TcpStream>, HandshakeError> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(source)) => Err(HandshakeError::Failed { peer, source }),
        Err(_) => Err(HandshakeError::TimedOut { peer }),
    }
}

/// [`try_accept_tls`] for accept loops: a failure is logged at warn (e.g. "TLS handshake from
/// 127.0.0.1:5555 failed: received fatal alert: UnknownCA") and yields `None`.
pub async fn accept_tls(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
    peer_addr: SocketAddr,
) -> Option<TlsStream<TcpStream>> {
    match try_accept_tls(acceptor, tcp, peer_addr).await {
        Ok(stream) => Some(stream),
        Err(e) => {
            tracing::warn!("{e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::ClusterCa;
    use rustls::pki_types::ServerName;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio_rustls::TlsConnector;

    /// Serves one connection on 127.0.0.1:0, echoing one byte back if the handshake succeeds.
    async fn one_shot_server(
        serving: &ServingCert,
    ) -> (
        SocketAddr,
        tokio::task::JoinHandle<Result<(), HandshakeError>>,
    ) {
        let acceptor = TlsAcceptor::from(server_config(serving).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (tcp, peer) = listener.accept().await.unwrap();
            let mut tls = try_accept_tls(&acceptor, tcp, peer).await?;
            let mut byte = [0u8; 1];
            tls.read_exact(&mut byte).await.unwrap();
            tls.write_all(&byte).await.unwrap();
            tls.shutdown().await.unwrap();
            Ok(())
        });
        (addr, task)
    }

    async fn connect(
        ca_pem: &str,
        addr: SocketAddr,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let connector = TlsConnector::from(client_config(ca_pem).unwrap());
        let tcp = TcpStream::connect(addr).await?;
        let name = ServerName::try_from("127.0.0.1").unwrap();
        connector.connect(name, tcp).await
    }

    #[tokio::test]
    async fn client_trusting_the_ca_connects() {
        // Issue from a CA loaded back from PEM: its rebuilt issuer name must chain.
        let generated = ClusterCa::generate().unwrap();
        let ca = ClusterCa::from_pem(generated.cert_pem(), generated.key_pem()).unwrap();
        let serving = ca.issue_serving_cert(&[]).unwrap();
        let (addr, server) = one_shot_server(&serving).await;
        let mut tls = connect(ca.cert_pem(), addr).await.unwrap();
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        tls.write_all(b"x").await.unwrap();
        let mut byte = [0u8; 1];
        tls.read_exact(&mut byte).await.unwrap();
        assert_eq!(&byte, b"x");
        server.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn client_with_another_ca_is_refused_and_the_server_says_why() {
        let ca = ClusterCa::generate().unwrap();
        let other = ClusterCa::generate().unwrap();
        let serving = ca.issue_serving_cert(&[]).unwrap();
        let (addr, server) = one_shot_server(&serving).await;
        let client_err = connect(other.cert_pem(), addr).await.unwrap_err();
        assert!(
            client_err.to_string().contains("UnknownIssuer"),
            "{client_err}"
        );
        let server_err = server.await.unwrap().unwrap_err().to_string();
        assert!(
            server_err.starts_with("TLS handshake from 127.0.0.1:"),
            "{server_err}"
        );
        assert!(
            server_err.ends_with("failed: received fatal alert: UnknownCA"),
            "{server_err}"
        );
    }
}
