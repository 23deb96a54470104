//! Trust on first use, pinned, as k3s joins: a joiner (a replica or a node agent) has no CA
//! yet, so its one `GET /cacerts` goes over a TLS connection that accepts any server
//! certificate; the CA that answer carries is then trusted only if its sha256 equals the pin in
//! the join token. Everything after that is verified against the CA.
//!
//! Both joiners use this crate, so the connection that skips verification is built in one place,
//! and a pin means the same bytes on both sides: the sha256 of the CA certificate's DER in
//! lowercase hex (what the server prints in its tokens).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// The ring crypto provider, passed explicitly to every builder so nothing depends on a
/// process-wide default being installed.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client config that accepts any server certificate, for the one `GET /cacerts` of a join
/// only: its answer is authenticated by [`check_pin`] instead. It still checks the handshake's
/// signatures, so the session is at least bound to the key of the certificate presented.
pub fn cacerts_fetch_config(alpn: &[&[u8]]) -> Result<ClientConfig, rustls::Error> {
    let provider = crypto_provider();
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(provider)))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

/// The pin of a certificate: the sha256 of its DER, lowercase hex.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// The first certificate in `pem`, as DER (`None` if there is none).
pub fn first_cert(pem: &str) -> Option<CertificateDer<'static>> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .next()
        .and_then(Result::ok)
}

/// Why a fetched CA is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinMismatch {
    /// The answer holds no PEM certificate.
    NotPem,
    /// The first certificate's fingerprint is `presented`, not the pin.
    OtherCa { presented: String },
}

/// Checks that the first certificate of `pem` is the one `pin` names; returns its fingerprint.
pub fn check_pin(pem: &str, pin: &str) -> Result<String, PinMismatch> {
    let der = first_cert(pem).ok_or(PinMismatch::NotPem)?;
    let presented = fingerprint(&der);
    if presented == pin {
        Ok(presented)
    } else {
        Err(PinMismatch::OtherCa { presented })
    }
}

/// Accepts every server certificate but still checks handshake signatures (see
/// [`cacerts_fetch_config`]).
#[derive(Debug)]
struct AcceptAnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests;
