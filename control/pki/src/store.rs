//! Loading and first-start creation of a replica's PKI under `<data-dir>/`: the CA and join
//! token are created once and never replaced; the serving certificate is re-issued when the
//! listen addresses change or it nears expiry.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::ca::{CertError, ClusterCa, ServingCert, cert_der};
use super::fsio::{self, MODE_PUBLIC, MODE_SECRET, PkiPaths};
use super::serving::{load_or_issue_serving, load_pair};
use super::token::{JoinToken, TokenError, ct_eq, generate_bearer_token};

/// Why the PKI could not be loaded or created. Every variant is fatal for the replica: the
/// operator must fix the named file (nothing here is retried, nothing is regenerated over it).
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{}: unreadable: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}: cannot write: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("{}: {source}", path.display())]
    BadFile { path: PathBuf, source: CertError },
    #[error("{}: the key does not belong to the certificate in {}", key.display(), cert.display())]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error(
        "{}: missing, but {} exists: the PKI directory is partial; refusing to create a new CA \
         (restore the file, or remove {} to start a new cluster)",
        missing.display(), present.display(), dir.display()
    )]
    Partial {
        dir: PathBuf,
        missing: PathBuf,
        present: PathBuf,
    },
    #[error("{}: {source}", path.display())]
    BadToken { path: PathBuf, source: TokenError },
    #[error("{}: the token pins CA sha256:{pinned}, but {} is sha256:{actual}", path.display(), ca.display())]
    TokenPinsOtherCa {
        path: PathBuf,
        ca: PathBuf,
        pinned: String,
        actual: String,
    },
    #[error("{}: empty", path.display())]
    EmptyAdminToken { path: PathBuf },
    #[error(
        "{}: a different cluster CA already exists here (sha256:{existing}, joining sha256:{received}); \
         refusing to replace it: this data directory belongs to another cluster",
        path.display()
    )]
    DifferentCa {
        path: PathBuf,
        existing: String,
        received: String,
    },
    #[error("{}: holds a different join token than the one used to join; refusing to replace it", path.display())]
    DifferentToken { path: PathBuf },
    #[error("the CA received while joining is unusable: {0}")]
    ReceivedCa(CertError),
    #[error(
        "the CA received while joining is sha256:{received}, but the join token pins sha256:{pinned}"
    )]
    ReceivedCaNotPinned { pinned: String, received: String },
    #[error("cannot create the cluster CA: {0}")]
    GenerateCa(CertError),
    #[error("cannot issue the serving certificate: {0}")]
    Issue(CertError),
}

/// A replica's loaded PKI.
pub struct Pki {
    pub paths: PkiPaths,
    pub ca: ClusterCa,
    pub serving: ServingCert,
    /// The cluster join token, always in full (CA-pinning) form.
    pub join_token: JoinToken,
    pub admin_token: String,
}

impl fmt::Debug for Pki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pki")
            .field("paths", &self.paths)
            .field("ca", &self.ca)
            .finish_non_exhaustive()
    }
}

/// Entry point for loading or creating the PKI files of a data directory.
#[derive(Debug)]
pub struct PkiStore;

impl PkiStore {
    /// Loads the PKI under `data_dir`, creating whatever is missing at first start, and
    /// re-issues the serving certificate if it does not fit `sans` (plus localhost) exactly,
    /// is not signed by the CA, or expires within 30 days. Never replaces the CA or token.
    pub fn load_or_init(data_dir: &Path, sans: &[String]) -> Result<Pki, PkiError> {
        let paths = PkiPaths::new(data_dir);
        paths.create_dirs().map_err(|source| PkiError::Write {
            path: paths.dir.clone(),
            source,
        })?;
        let ca = load_or_create_ca(&paths)?;
        let join_token = load_or_create_token(&paths, &ca)?;
        let admin_token = match read(&paths.admin_token)? {
            Some(s) if s.trim().is_empty() => {
                return Err(PkiError::EmptyAdminToken {
                    path: paths.admin_token,
                });
            }
            Some(s) => s.trim().to_owned(),
            None => {
                let token = generate_bearer_token();
                write_new(&paths.admin_token, &format!("{token}\n"), MODE_SECRET)?;
                token
            }
        };
        let serving = load_or_issue_serving(&paths, &ca, sans)?;
        write_agent_token(&paths, &join_token)?;
        Ok(Pki {
            paths,
            ca,
            serving,
            join_token,
            admin_token,
        })
    }
}

impl Pki {
    /// Installs what a joining replica received (the cluster CA and the join token), then
    /// loads the rest as [`PkiStore::load_or_init`]. Joining again with the same CA and token
    /// is a no-op; a different CA or token already on disk is refused.
    pub fn install_joined(
        data_dir: &Path,
        ca_cert_pem: &str,
        ca_key_pem: &str,
        token: &JoinToken,
        sans: &[String],
    ) -> Result<Pki, PkiError> {
        let received =
            ClusterCa::from_pem(ca_cert_pem, ca_key_pem).map_err(PkiError::ReceivedCa)?;
        if let Some(pinned) = token.ca_fingerprint()
            && pinned != received.fingerprint()
        {
            return Err(PkiError::ReceivedCaNotPinned {
                pinned: pinned.to_owned(),
                received: received.fingerprint().to_owned(),
            });
        }
        let paths = PkiPaths::new(data_dir);
        paths.create_dirs().map_err(|source| PkiError::Write {
            path: paths.dir.clone(),
            source,
        })?;
        match read(&paths.ca_cert)? {
            Some(existing) => {
                let der = cert_der(&existing).map_err(|source| bad(&paths.ca_cert, source))?;
                let existing = super::ca::fingerprint_der(&der);
                if existing != received.fingerprint() {
                    return Err(PkiError::DifferentCa {
                        path: paths.ca_cert,
                        existing,
                        received: received.fingerprint().to_owned(),
                    });
                }
            }
            None if fsio::exists(&paths.ca_key) => {
                return Err(partial(&paths, &paths.ca_cert, &paths.ca_key));
            }
            None => write_new(&paths.ca_cert, received.cert_pem(), MODE_PUBLIC)?,
        }
        if !fsio::exists(&paths.ca_key) {
            write_new(&paths.ca_key, received.key_pem(), MODE_SECRET)?;
        }
        match read(&paths.token)? {
            Some(s) => {
                let existing = JoinToken::parse(&s).map_err(|source| PkiError::BadToken {
                    path: paths.token.clone(),
                    source,
                })?;
                if !ct_eq(existing.secret().as_bytes(), token.secret().as_bytes()) {
                    return Err(PkiError::DifferentToken { path: paths.token });
                }
            }
            None => {
                let full = JoinToken::pinned(received.fingerprint(), token.secret().to_owned());
                write_new(&paths.token, &format!("{full}\n"), MODE_SECRET)?;
            }
        }
        PkiStore::load_or_init(data_dir, sans)
    }
}

fn load_or_create_ca(paths: &PkiPaths) -> Result<ClusterCa, PkiError> {
    match (read(&paths.ca_cert)?, read(&paths.ca_key)?) {
        (Some(cert), Some(key)) => load_pair(&paths.ca_cert, &cert, &paths.ca_key, &key)
            .and_then(|()| ClusterCa::from_pem(&cert, &key).map_err(|e| bad(&paths.ca_key, e))),
        (None, None) => {
            for present in [&paths.server_cert, &paths.server_key, &paths.token] {
                if fsio::exists(present) {
                    return Err(partial(paths, &paths.ca_cert, present));
                }
            }
            let ca = ClusterCa::generate().map_err(PkiError::GenerateCa)?;
            write_new(&paths.ca_cert, ca.cert_pem(), MODE_PUBLIC)?;
            write_new(&paths.ca_key, ca.key_pem(), MODE_SECRET)?;
            tracing::info!(
                fingerprint = ca.fingerprint(),
                "created cluster CA {}",
                paths.ca_cert.display()
            );
            Ok(ca)
        }
        (Some(_), None) => Err(partial(paths, &paths.ca_key, &paths.ca_cert)),
        (None, Some(_)) => Err(partial(paths, &paths.ca_cert, &paths.ca_key)),
    }
}

/// Writes `agent-token` (derived, so rewriting it is harmless) when it is missing or differs.
fn write_agent_token(paths: &PkiPaths, join_token: &JoinToken) -> Result<(), PkiError> {
    let line = format!("{}\n", join_token.agent_token());
    if read(&paths.agent_token)?.as_deref() != Some(line.as_str()) {
        write_replace(&paths.agent_token, &line, MODE_SECRET)?;
    }
    Ok(())
}

fn load_or_create_token(paths: &PkiPaths, ca: &ClusterCa) -> Result<JoinToken, PkiError> {
    let Some(s) = read(&paths.token)? else {
        let token = JoinToken::generate(ca);
        write_new(&paths.token, &format!("{token}\n"), MODE_SECRET)?;
        tracing::info!("created join token {}", paths.token.display());
        return Ok(token);
    };
    let token = JoinToken::parse(&s)
        .and_then(JoinToken::require_server)
        .map_err(|source| PkiError::BadToken {
            path: paths.token.clone(),
            source,
        })?;
    match token.ca_fingerprint() {
        Some(pinned) if pinned != ca.fingerprint() => Err(PkiError::TokenPinsOtherCa {
            path: paths.token.clone(),
            ca: paths.ca_cert.clone(),
            pinned: pinned.to_owned(),
            actual: ca.fingerprint().to_owned(),
        }),
        // A short token on disk stays as written; in memory it pins our CA.
        _ => Ok(JoinToken::pinned(
            ca.fingerprint(),
            token.secret().to_owned(),
        )),
    }
}

pub(super) fn bad(path: &Path, source: CertError) -> PkiError {
    PkiError::BadFile {
        path: path.to_owned(),
        source,
    }
}

fn partial(paths: &PkiPaths, missing: &Path, present: &Path) -> PkiError {
    PkiError::Partial {
        dir: paths.dir.clone(),
        missing: missing.to_owned(),
        present: present.to_owned(),
    }
}

pub(super) fn read(path: &Path) -> Result<Option<String>, PkiError> {
    fsio::read_opt(path).map_err(|source| PkiError::Read {
        path: path.to_owned(),
        source,
    })
}

fn write_new(path: &Path, contents: &str, mode: u32) -> Result<(), PkiError> {
    fsio::write_new(path, contents, mode).map_err(|source| PkiError::Write {
        path: path.to_owned(),
        source,
    })
}

pub(super) fn write_replace(path: &Path, contents: &str, mode: u32) -> Result<(), PkiError> {
    fsio::write_replace(path, contents, mode).map_err(|source| PkiError::Write {
        path: path.to_owned(),
        source,
    })
}
