//! The node's credential: its name, its bearer token (user `system:node:<name>`), the
//! control-plane replicas' URLs and the cluster CA. Obtained by joining, or handed in by the
//! caller (`skiff up` runs the agent in-process with a credential its server made), and kept
//! in `<data-dir>/credential.json` (mode 0600) so a restarted agent does not join again.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The file name under the data directory.
pub const CREDENTIAL_FILE: &str = "credential.json";

/// What the agent needs to reach the Kubernetes API as its node. The JSON form is the
/// answer of `POST /skiff/v1/node-join`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    pub node_name: String,
    /// Bearer token of `system:node:<node_name>`.
    pub token: String,
    /// Every control-plane replica's URL (`https://host:port`).
    pub servers: Vec<String>,
    /// The cluster CA, PEM.
    pub ca_cert: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("node_name", &self.node_name)
            .field("token", &"<redacted>")
            .field("servers", &self.servers)
            .finish_non_exhaustive()
    }
}

/// Why the credential file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a node credential ({source}); delete it to join again")]
    Malformed {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} holds no server URL, token or CA; delete it to join again")]
    Incomplete { path: PathBuf },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Credential {
    /// `<data_dir>/credential.json`.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(CREDENTIAL_FILE)
    }

    /// The saved credential, or `None` when there is no file.
    pub fn load(data_dir: &Path) -> Result<Option<Credential>, CredentialError> {
        let path = Credential::path(data_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(CredentialError::Read { path, source }),
        };
        let credential: Credential =
            serde_json::from_str(&text).map_err(|source| CredentialError::Malformed {
                path: path.clone(),
                source,
            })?;
        if credential.servers.is_empty()
            || credential.token.is_empty()
            || credential.ca_cert.is_empty()
            || credential.node_name.is_empty()
        {
            return Err(CredentialError::Incomplete { path });
        }
        Ok(Some(credential))
    }

    /// Writes the file atomically with mode 0600 (it holds a bearer token).
    pub fn save(&self, data_dir: &Path) -> Result<(), CredentialError> {
        let path = Credential::path(data_dir);
        let tmp = data_dir.join(format!("{CREDENTIAL_FILE}.tmp"));
        let write = |p: &Path| -> std::io::Result<()> {
            std::fs::create_dir_all(data_dir)?;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(p)?;
            let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
            file.write_all(&json)?;
            file.sync_all()?;
            std::fs::rename(p, &path)
        };
        write(&tmp).map_err(|source| CredentialError::Write {
            path: path.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn sample() -> Credential {
        Credential {
            node_name: "n1".into(),
            token: "t0ken".into(),
            servers: vec!["https://127.0.0.1:6443".into()],
            ca_cert: "-----BEGIN CERTIFICATE-----\n".into(),
        }
    }

    #[test]
    fn saved_credentials_load_back_private_and_redacted() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Credential::load(dir.path()).unwrap().is_none());
        sample().save(dir.path()).unwrap();
        assert_eq!(Credential::load(dir.path()).unwrap(), Some(sample()));
        let mode = std::fs::metadata(Credential::path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!format!("{:?}", sample()).contains("t0ken"));
        let json = std::fs::read_to_string(Credential::path(dir.path())).unwrap();
        assert!(
            json.contains("\"nodeName\"") && json.contains("\"caCert\""),
            "{json}"
        );
    }

    #[test]
    fn broken_files_are_refused_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(Credential::path(dir.path()), "{").unwrap();
        let e = Credential::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("credential.json is not a node credential"),
            "{e}"
        );
        let mut empty = sample();
        empty.servers.clear();
        empty.save(dir.path()).unwrap();
        let e = Credential::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("holds no server URL"), "{e}");
    }
}
