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
#[derive(Debug, Clone, Default)]
pub enum OciAuth {
    #[default]
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
}

/// How to reach registries.
#[derive(Debug, Clone, Default)]
pub struct OciConfig {
    pub auth: OciAuth,
    /// Registries (`host:port`) spoken to over plain HTTP (e.g. a local test registry).
    pub insecure_registries: Vec<String>,
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

/// Pulls the Wasm layer of `reference`; returns its bytes after checking their digest.
pub async fn pull(
    config: &OciConfig,
    reference: &str,
    max_bytes: u64,
) -> Result<Vec<u8>, ImageError> {
    let parsed: Reference = reference
        .parse()
        .map_err(|_| ImageError::BadReference(reference.to_owned()))?;
    // reqwest is built without a bundled crypto provider; install ring once (an error
    // means another provider is already installed, which is fine).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::new(ClientConfig {
        protocol: ClientProtocol::HttpsExcept(config.insecure_registries.clone()),
        ..Default::default()
    });
    let auth = match &config.auth {
        OciAuth::Anonymous => RegistryAuth::Anonymous,
        OciAuth::Basic { username, password } => {
            RegistryAuth::Basic(username.clone(), password.clone())
        }
    };
    let (manifest, _manifest_digest) = client
        .pull_image_manifest(&parsed, &auth)
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
        .pull_blob(&parsed, layer, &mut bytes)
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
