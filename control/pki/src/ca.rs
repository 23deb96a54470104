//! The cluster CA: generation, loading from PEM, fingerprints and serving-certificate issue.

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType, SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// The CA's common name. The subject also carries `O=skiff-ca@<hash of the CA public key>`, so
/// two clusters' CAs never share a name (a client trusting the wrong one then gets a clear
/// "unknown issuer" instead of a signature error), and loading a CA can rebuild its subject
/// from its key alone.
pub const CA_COMMON_NAME: &str = "skiff-ca";
/// Names every serving certificate covers, whatever the listen addresses are.
pub const ALWAYS_SANS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);
const SERVING_VALIDITY: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Why a CA or certificate could not be made or loaded. Callers that know the file add its path.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("not PEM: no {0} block found")]
    NotPem(&'static str),
    #[error("the private key does not belong to the certificate")]
    KeyMismatch,
    #[error("bad private key: {0}")]
    BadKey(String),
    #[error("'{san}' is neither an IP address nor a valid DNS name")]
    BadSan { san: String },
    #[error("no longer fits: {0}")]
    Unfit(String),
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
}

/// A serving certificate (leaf, signed by the cluster CA) and its private key, both PEM.
#[derive(Clone)]
pub struct ServingCert {
    pub cert_pem: String,
    pub key_pem: String,
}

impl fmt::Debug for ServingCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServingCert").finish_non_exhaustive()
    }
}

/// The cluster CA, shared by all replicas. Its key signs every replica's serving certificate.
pub struct ClusterCa {
    cert_pem: String,
    key_pem: String,
    /// Parsed once so issuing does not re-parse the PEM.
    key: KeyPair,
    fingerprint: String,
}

impl fmt::Debug for ClusterCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterCa")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl ClusterCa {
    /// A new self-signed CA: ECDSA P-256, CN "skiff-ca", valid for 10 years.
    pub fn generate() -> Result<Self, CertError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let now = SystemTime::now();
        let mut params = ca_params(&key);
        params.not_before = (now - DAY).into();
        params.not_after = (now + CA_VALIDITY).into();
        params.serial_number = Some(random_serial());
        let cert = params.self_signed(&key)?;
        let cert_pem = cert.pem();
        let fingerprint = fingerprint_der(cert.der());
        Ok(Self {
            cert_pem,
            key_pem: key.serialize_pem(),
            key,
            fingerprint,
        })
    }

    /// Loads a CA from its certificate and key PEM, checking that the key belongs to the cert.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, CertError> {
        let der = cert_der(cert_pem)?;
        check_key_matches(&der, key_pem)?;
        let key = KeyPair::from_pem(key_pem).map_err(|e| CertError::BadKey(e.to_string()))?;
        Ok(Self {
            cert_pem: cert_pem.to_owned(),
            key_pem: key_pem.to_owned(),
            key,
            fingerprint: fingerprint_der(&der),
        })
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// sha256 of the DER certificate, lowercase hex: what join tokens pin.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Issues a serving certificate (1 year, serverAuth + clientAuth) for `sans` plus
    /// [`ALWAYS_SANS`]. IP addresses become IP SANs, everything else DNS SANs.
    pub fn issue_serving_cert(&self, sans: &[String]) -> Result<ServingCert, CertError> {
        let sans = normalize_sans(sans)
            .into_iter()
            .map(|san| match san.parse::<IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => san
                    .clone()
                    .try_into()
                    .map(SanType::DnsName)
                    .map_err(|_| CertError::BadSan { san }),
            })
            .collect::<Result<_, _>>()?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, "skiff-server");
        self.issue_leaf(name, sans)
    }
}

impl ClusterCa {
    /// Issues node `node` its overlay certificate (1 year, serverAuth + clientAuth):
    /// `CN=system:node:<node>`, `O=system:nodes` (the user and group its bearer token
    /// authenticates as) and the DNS SAN `<node>`, the server name other nodes verify when
    /// they open a tunnel to it. Node-to-node TLS is mutual: each side checks the other's
    /// chain to the cluster CA and its `system:node:` name.
    pub fn issue_node_cert(&self, node: &str) -> Result<ServingCert, CertError> {
        let san = node
            .to_owned()
            .try_into()
            .map(SanType::DnsName)
            .map_err(|_| CertError::BadSan {
                san: node.to_owned(),
            })?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, format!("{NODE_USER_PREFIX}{node}"));
        name.push(DnType::OrganizationName, "system:nodes");
        self.issue_leaf(name, vec![san])
    }

    /// A leaf certificate for `name` and `sans` signed by this CA: a fresh P-256 key, valid
    /// from a day ago for a year, usable for TLS on both sides (serverAuth + clientAuth).
    fn issue_leaf(
        &self,
        name: DistinguishedName,
        sans: Vec<SanType>,
    ) -> Result<ServingCert, CertError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let now = SystemTime::now();
        let mut params = CertificateParams::default();
        params.distinguished_name = name;
        params.not_before = (now - DAY).into();
        params.not_after = (now + SERVING_VALIDITY).into();
        params.serial_number = Some(random_serial());
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        params.subject_alt_names = sans;
        let issuer = Issuer::new(ca_params(&self.key), &self.key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok(ServingCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// The common-name prefix of a node certificate (`system:node:<name>`, Kubernetes' node user).
pub const NODE_USER_PREFIX: &str = "system:node:";

/// `sans` plus [`ALWAYS_SANS`], trimmed, without empties, sorted and deduplicated.
pub fn normalize_sans(sans: &[String]) -> Vec<String> {
    let mut all: Vec<String> = sans
        .iter()
        .map(|s| s.trim())
        .chain(ALWAYS_SANS)
        .filter(|s| !s.is_empty())
        // One spelling per IP address, the one the certificate parser reports.
        .map(|s| {
            s.parse::<IpAddr>()
                .map_or_else(|_| s.to_owned(), |ip| ip.to_string())
        })
        .collect();
    all.sort();
    all.dedup();
    all
}

/// The parameters that identify the CA as an issuer. Generation and loading both use them, so
/// the issuer name in leaf certificates matches the CA's subject byte for byte.
fn ca_params(key: &KeyPair) -> CertificateParams {
    let mut params = CertificateParams::default();
    let key_hash = hex::encode(&Sha256::digest(key.public_key_raw())[..8]);
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, CA_COMMON_NAME);
    params.distinguished_name.push(
        DnType::OrganizationName,
        format!("{CA_COMMON_NAME}@{key_hash}"),
    );
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    // A positive INTEGER: clear the sign bit.
    bytes[0] &= 0x7f;
    SerialNumber::from_slice(&bytes)
}

/// sha256 of a DER certificate as lowercase hex.
pub(crate) fn fingerprint_der(der: &[u8]) -> String {
    skiff_trust::fingerprint(der)
}

/// The first certificate in `pem`, as DER.
pub(crate) fn cert_der(pem: &str) -> Result<CertificateDer<'static>, CertError> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .next()
        .and_then(Result::ok)
        .ok_or(CertError::NotPem("CERTIFICATE"))
}

/// The first private key in `pem`, as DER.
pub(crate) fn key_der(pem: &str) -> Result<PrivateKeyDer<'static>, CertError> {
    rustls_pemfile::private_key(&mut pem.as_bytes())
        .ok()
        .flatten()
        .ok_or(CertError::NotPem("PRIVATE KEY"))
}

/// Checks that the key in `key_pem` is the one whose public half `cert` carries.
pub(crate) fn check_key_matches(
    cert: &CertificateDer<'static>,
    key_pem: &str,
) -> Result<(), CertError> {
    let key = key_der(key_pem)?;
    let provider = super::tls::crypto_provider();
    match rustls::sign::CertifiedKey::from_der(vec![cert.clone()], key, &provider) {
        Ok(certified) => match certified.keys_match() {
            Ok(()) => Ok(()),
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
                Err(CertError::KeyMismatch)
            }
            Err(e) => Err(CertError::BadKey(e.to_string())),
        },
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(CertError::KeyMismatch)
        }
        Err(e) => Err(CertError::BadKey(e.to_string())),
    }
}

#[cfg(test)]
mod node_cert_tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;
    use std::sync::Arc;

    #[test]
    fn node_certificates_are_signed_by_the_ca_and_name_the_node() {
        let ca = ClusterCa::generate().unwrap();
        let cert = ca.issue_node_cert("worker-1").unwrap();
        let der = cert_der(&cert.cert_pem).unwrap();
        check_key_matches(&der, &cert.key_pem).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert_der(ca.cert_pem()).unwrap()).unwrap();
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            crate::tls::crypto_provider(),
        )
        .build()
        .unwrap();
        let name = rustls::pki_types::ServerName::try_from("worker-1").unwrap();
        let now = rustls::pki_types::UnixTime::now();
        verifier
            .verify_server_cert(&der, &[], &name, &[], now)
            .expect("valid for its node name under the cluster CA");
        let other = rustls::pki_types::ServerName::try_from("worker-2").unwrap();
        assert!(
            verifier
                .verify_server_cert(&der, &[], &other, &[], now)
                .is_err()
        );
        assert!(matches!(
            ca.issue_node_cert("nœud"),
            Err(CertError::BadSan { .. })
        ));
    }
}
