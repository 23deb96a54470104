//! Pulls Wasm artifacts from OCI registries with oci-client; verifies the layer digest.

use crate::error::ImageError;
use crate::image::store::digest_of;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

/// Layer media types recognised as Wasm (OCI Wasm artifact spec and older conventions).
pub const WASM_LAYER_MEDIA_TYPES: &[&str] = &[
    "application/wasm",
    "application/vnd.wasm.content.layer.v1+wasm",
    "application/vnd.module.wasm.content.layer.v1+wasm",
    "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
];

/// Registry credentials.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum OciAuth {
    #[default]
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
}

impl std::fmt::Debug for OciAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OciAuth::Anonymous => f.write_str("Anonymous"),
            OciAuth::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
        }
    }
}

/// The host name that means "the cluster's built-in registry" in image references
/// (`registry.skiff.local/app:v1`).
pub const BUILTIN_HOST: &str = "registry.skiff.local";

/// The cluster's built-in registry: the API servers, their CA and the node's token.
#[derive(Clone, Default)]
pub struct BuiltinRegistry {
    /// Every replica's URL (`https://host:port`), tried in order.
    pub servers: Vec<String>,
    /// The cluster CA, PEM.
    pub ca_pem: String,
    /// The node's bearer token (nodes may pull).
    pub token: String,
}

impl std::fmt::Debug for BuiltinRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltinRegistry")
            .field("servers", &self.servers)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// How to reach registries.
#[derive(Debug, Clone, Default)]
pub struct OciConfig {
    pub auth: OciAuth,
    /// Registries (`host:port`) spoken to over plain HTTP (e.g. a local test registry).
    pub insecure_registries: Vec<String>,
    /// Where `registry.skiff.local/...` references are pulled from (none: they fail).
    pub builtin: Option<BuiltinRegistry>,
}

/// A registry failure with its causes ("error sending request for url (...): client error
/// (Connect): tcp connect error: Connection refused"): the top error alone hides why.
fn registry_err(reference: &str, e: impl std::error::Error) -> ImageError {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    ImageError::Registry {
        reference: reference.to_owned(),
        message,
    }
}

/// Pulls the Wasm layer of `reference` with `auth` (the pod's pull secret for its registry,
/// else `config.auth`); returns its bytes after checking their digest. A
/// `registry.skiff.local/` reference is pulled from the built-in registry, one replica after
/// another until one answers.
pub async fn pull(
    config: &OciConfig,
    reference: &str,
    auth: Option<&OciAuth>,
    max_bytes: u64,
) -> Result<Vec<u8>, ImageError> {
    // reqwest is built without a bundled crypto provider; install ring once (an error
    // means another provider is already installed, which is fine).
    let _ = rustls::crypto::ring::default_provider().install_default();
    if let Some(path) = reference
        .strip_prefix(BUILTIN_HOST)
        .and_then(|r| r.strip_prefix('/'))
    {
        return pull_builtin(config, reference, path, max_bytes).await;
    }
    let parsed: Reference = reference
        .parse()
        .map_err(|_| ImageError::BadReference(reference.to_owned()))?;
    let mut plain_http = config.insecure_registries.clone();
    if is_loopback(parsed.registry()) {
        plain_http.push(parsed.registry().to_owned());
    }
    let client = Client::new(ClientConfig {
        protocol: ClientProtocol::HttpsExcept(plain_http),
        ..Default::default()
    });
    let auth = match auth.unwrap_or(&config.auth) {
        OciAuth::Anonymous => RegistryAuth::Anonymous,
        OciAuth::Basic { username, password } => {
            RegistryAuth::Basic(username.clone(), password.clone())
        }
    };
    pull_with(&client, &parsed, &auth, reference, max_bytes).await
}

/// Whether a registry (`host[:port]`) is on this machine: spoken to over plain HTTP, as Docker
/// treats 127.0.0.0/8 as an insecure registry by default (nothing leaves the host).
fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => registry,
    };
    host == "localhost"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Pulls `path` (`repo:tag`) from the first replica of the built-in registry that answers.
async fn pull_builtin(
    config: &OciConfig,
    reference: &str,
    path: &str,
    max_bytes: u64,
) -> Result<Vec<u8>, ImageError> {
    let Some(builtin) = &config.builtin else {
        return Err(ImageError::Registry {
            reference: reference.to_owned(),
            message: format!("this runtime knows no built-in registry for {BUILTIN_HOST}"),
        });
    };
    let client = Client::new(ClientConfig {
        protocol: ClientProtocol::Https,
        extra_root_certificates: vec![oci_client::client::Certificate {
            encoding: oci_client::client::CertificateEncoding::Pem,
            data: builtin.ca_pem.clone().into_bytes(),
        }],
        ..Default::default()
    });
    let auth = RegistryAuth::Bearer(builtin.token.clone());
    let mut last = ImageError::Registry {
        reference: reference.to_owned(),
        message: "the cluster has no API server URL".into(),
    };
    for server in &builtin.servers {
        let host = server.trim_start_matches("https://").trim_end_matches('/');
        let Ok(parsed) = format!("{host}/{path}").parse::<Reference>() else {
            return Err(ImageError::BadReference(reference.to_owned()));
        };
        match pull_with(&client, &parsed, &auth, reference, max_bytes).await {
            Ok(bytes) => return Ok(bytes),
            Err(e @ ImageError::Registry { .. }) => last = e,
            Err(other) => return Err(other),
        }
    }
    Err(last)
}

async fn pull_with(
    client: &Client,
    parsed: &Reference,
    auth: &RegistryAuth,
    reference: &str,
    max_bytes: u64,
) -> Result<Vec<u8>, ImageError> {
    let (manifest, _manifest_digest) = client
        .pull_image_manifest(parsed, auth)
        .await
        .map_err(|e| registry_err(reference, e))?;
    let layer = manifest
        .layers
        .iter()
        .find(|l| WASM_LAYER_MEDIA_TYPES.contains(&l.media_type.as_str()))
        .ok_or_else(|| ImageError::NoWasmLayer {
            reference: reference.to_owned(),
            found: manifest
                .layers
                .iter()
                .map(|l| l.media_type.clone())
                .collect(),
        })?;
    let size = u64::try_from(layer.size).unwrap_or(u64::MAX);
    if size > max_bytes {
        return Err(ImageError::TooLarge {
            reference: reference.to_owned(),
            size,
            limit: max_bytes,
        });
    }
    let mut bytes: Vec<u8> = Vec::with_capacity(size as usize);
    client
        .pull_blob(parsed, layer, &mut bytes)
        .await
        .map_err(|e| registry_err(reference, e))?;
    let actual = digest_of(&bytes);
    if actual != layer.digest {
        return Err(ImageError::DigestMismatch {
            reference: reference.to_owned(),
            expected: layer.digest.clone(),
            actual,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::registry_err;

    #[derive(Debug, thiserror::Error)]
    #[error("error sending request")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("tcp connect error: {0}")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn loopback_registries_are_plain_http() {
        assert!(super::is_loopback("127.0.0.1:5000"));
        assert!(super::is_loopback("127.8.0.1"));
        assert!(super::is_loopback("localhost:5000"));
        assert!(!super::is_loopback("ghcr.io"));
        assert!(!super::is_loopback("10.0.0.1:5000"));
    }

    #[test]
    fn registry_errors_name_their_causes_once() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = registry_err("r:v1", Outer(Middle(refused)));
        // The io error's text is already in its parent's: it is not repeated.
        assert_eq!(
            e.to_string(),
            "pulling r:v1 from its registry: error sending request: tcp connect error: refused"
        );
    }
}
