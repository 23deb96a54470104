//! The serving certificate's lifecycle: kept while it fits the listen addresses, chains to
//! the cluster CA and has 30 days left; re-issued (and atomically replaced on disk) otherwise.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{ServerName, UnixTime};

use super::ca::{CertError, ClusterCa, ServingCert, cert_der, check_key_matches, key_der};
use super::fsio::{MODE_PUBLIC, MODE_SECRET, PkiPaths};
use super::store::{PkiError, bad, read, write_replace};
use super::tls::crypto_provider;

/// A serving certificate that expires within this is re-issued at start.
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 60 * 60);

pub(super) fn load_or_issue_serving(
    paths: &PkiPaths,
    ca: &ClusterCa,
    sans: &[String],
) -> Result<ServingCert, PkiError> {
    if let (Some(cert_pem), Some(key_pem)) = (read(&paths.server_cert)?, read(&paths.server_key)?) {
        match load_pair(&paths.server_cert, &cert_pem, &paths.server_key, &key_pem)
            .and_then(|()| serving_fits(paths, ca, &cert_pem, sans))
        {
            Ok(()) => return Ok(ServingCert { cert_pem, key_pem }),
            Err(reason) => tracing::info!("re-issuing the serving certificate: {reason}"),
        }
    }
    let serving = ca.issue_serving_cert(sans).map_err(PkiError::Issue)?;
    // Key first: a crash in between leaves a mismatched pair, which the next start re-issues.
    write_replace(&paths.server_key, &serving.key_pem, MODE_SECRET)?;
    write_replace(&paths.server_cert, &serving.cert_pem, MODE_PUBLIC)?;
    Ok(serving)
}

fn serving_fits(
    paths: &PkiPaths,
    ca: &ClusterCa,
    cert_pem: &str,
    sans: &[String],
) -> Result<(), PkiError> {
    let unfit = |reason: String| bad(&paths.server_cert, CertError::Unfit(reason));
    let der = cert_der(cert_pem).map_err(|e| bad(&paths.server_cert, e))?;
    let wanted = super::ca::normalize_sans(sans);
    let present =
        super::san::dns_and_ip_sans(&der).map_err(|e| unfit(format!("unreadable SANs: {e}")))?;
    if present != wanted {
        return Err(unfit(format!(
            "covers {present:?}, the listen addresses need {wanted:?}"
        )));
    }
    let mut roots = RootCertStore::empty();
    roots
        .add(cert_der(ca.cert_pem()).map_err(|e| bad(&paths.ca_cert, e))?)
        .map_err(|e| unfit(e.to_string()))?;
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), crypto_provider())
        .build()
        .map_err(|e| unfit(e.to_string()))?;
    let at = SystemTime::now() + RENEW_BEFORE;
    let at = UnixTime::since_unix_epoch(
        at.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default(),
    );
    for san in &wanted {
        let name = ServerName::try_from(san.as_str()).map_err(|e| unfit(format!("{san}: {e}")))?;
        verifier
            .verify_server_cert(&der, &[], &name, &[], at)
            .map_err(|e| {
                unfit(format!(
                    "not valid for {san} through the next 30 days under the cluster CA: {e}"
                ))
            })?;
    }
    Ok(())
}

/// Checks a cert/key pair's files: each is PEM, and the key belongs to the cert.
pub(super) fn load_pair(
    cert_path: &Path,
    cert_pem: &str,
    key_path: &Path,
    key_pem: &str,
) -> Result<(), PkiError> {
    let der = cert_der(cert_pem).map_err(|e| bad(cert_path, e))?;
    key_der(key_pem).map_err(|e| bad(key_path, e))?;
    check_key_matches(&der, key_pem).map_err(|e| match e {
        CertError::KeyMismatch => PkiError::KeyMismatch {
            cert: cert_path.to_owned(),
            key: key_path.to_owned(),
        },
        other => bad(key_path, other),
    })
}
