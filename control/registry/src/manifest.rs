//! Manifest checks: what a pushed manifest must be (OCI image manifest or index, or their
//! Docker v2 equivalents), and what it references. Pure.

use serde_json::Value;

use crate::digest::Digest;
use crate::error::RegistryError;
use crate::storage::ManifestRecord;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// The OCI Wasm artifact's config (CNCF TAG Runtime, wasm-oci-artifact).
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
/// The OCI Wasm artifact's layer.
pub const WASM_LAYER: &str = "application/wasm";

/// The largest manifest accepted (the CNCF distribution server's default limit).
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// Checks a manifest pushed with `content_type` and returns what to store.
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<ManifestRecord, RegistryError> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(RegistryError::SizeInvalid(format!(
            "a manifest may hold at most {MAX_MANIFEST_BYTES} bytes"
        )));
    }
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| RegistryError::ManifestInvalid(format!("not JSON: {e}")))?;
    if doc.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
        return Err(RegistryError::ManifestInvalid(
            "schemaVersion must be 2".into(),
        ));
    }
    let declared = doc.get("mediaType").and_then(Value::as_str);
    let content_type = content_type.map(|c| c.split(';').next().unwrap_or(c).trim());
    let media_type = match (declared, content_type) {
        (Some(d), Some(c)) if d != c => {
            return Err(RegistryError::ManifestInvalid(format!(
                "mediaType {d} differs from Content-Type {c}"
            )));
        }
        (Some(d), _) => d,
        (None, Some(c)) => c,
        (None, None) => {
            return Err(RegistryError::ManifestInvalid(
                "neither mediaType nor Content-Type names the manifest's type".into(),
            ));
        }
    };
    let (blobs, manifests) = match media_type {
        OCI_MANIFEST | DOCKER_MANIFEST => (image_blobs(&doc)?, Vec::new()),
        OCI_INDEX | DOCKER_LIST => (Vec::new(), descriptors(&doc, "manifests")?),
        other => {
            return Err(RegistryError::ManifestInvalid(format!(
                "media type {other} is not an image manifest or index"
            )));
        }
    };
    let subject = match doc.get("subject") {
        Some(s) => Some(descriptor(s)?.0),
        None => None,
    };
    let artifact_type = doc
        .get("artifactType")
        .and_then(Value::as_str)
        .or_else(|| doc.pointer("/config/mediaType").and_then(Value::as_str))
        .map(str::to_owned);
    Ok(ManifestRecord {
        media_type: media_type.to_owned(),
        bytes: bytes.to_vec(),
        blobs,
        manifests,
        subject,
        artifact_type,
        annotations: doc.get("annotations").cloned(),
    })
}

/// An image manifest's config and layers.
fn image_blobs(doc: &Value) -> Result<Vec<String>, RegistryError> {
    let config = doc
        .get("config")
        .ok_or_else(|| RegistryError::ManifestInvalid("an image manifest needs a config".into()))?;
    let mut blobs = vec![descriptor(config)?.0];
    blobs.extend(descriptors(doc, "layers")?);
    Ok(blobs)
}

/// The digests of the descriptor array `field`.
fn descriptors(doc: &Value, field: &str) -> Result<Vec<String>, RegistryError> {
    let Some(list) = doc.get(field).and_then(Value::as_array) else {
        return Err(RegistryError::ManifestInvalid(format!(
            "{field} must be an array"
        )));
    };
    list.iter()
        .map(|d| descriptor(d).map(|(digest, _)| digest))
        .collect()
}

/// A descriptor's digest and size, both required and well-formed.
fn descriptor(value: &Value) -> Result<(String, u64), RegistryError> {
    let digest = value
        .get("digest")
        .and_then(Value::as_str)
        .ok_or_else(|| RegistryError::ManifestInvalid("a descriptor has no digest".into()))?;
    Digest::parse(digest)
        .map_err(|e| RegistryError::ManifestInvalid(format!("descriptor digest: {e}")))?;
    let size = value.get("size").and_then(Value::as_u64).ok_or_else(|| {
        RegistryError::ManifestInvalid(format!("descriptor {digest} has no size"))
    })?;
    if value.get("mediaType").and_then(Value::as_str).is_none() {
        return Err(RegistryError::ManifestInvalid(format!(
            "descriptor {digest} has no mediaType"
        )));
    }
    Ok((digest.to_owned(), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn wasm_manifest() -> Value {
        serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": WASM_CONFIG,
            "config": {"mediaType": WASM_CONFIG, "digest": D, "size": 0},
            "layers": [{"mediaType": WASM_LAYER, "digest": D, "size": 0}],
        })
    }

    #[test]
    fn a_wasm_artifact_manifest_is_accepted_with_its_references() {
        let bytes = serde_json::to_vec(&wasm_manifest()).unwrap();
        let record = parse(&bytes, Some(OCI_MANIFEST)).unwrap();
        assert_eq!(record.blobs, vec![D.to_owned(), D.to_owned()]);
        assert_eq!(record.artifact_type.as_deref(), Some(WASM_CONFIG));
    }

    #[test]
    fn bad_manifests_are_manifest_invalid() {
        let mut no_config = wasm_manifest();
        no_config.as_object_mut().unwrap().remove("config");
        let mut bad_digest = wasm_manifest();
        bad_digest["layers"][0]["digest"] = "sha256:00".into();
        let mut v1 = wasm_manifest();
        v1["schemaVersion"] = 1.into();
        let cases: Vec<(Vec<u8>, Option<&str>)> = vec![
            (b"{not json".to_vec(), Some(OCI_MANIFEST)),
            (serde_json::to_vec(&no_config).unwrap(), None),
            (serde_json::to_vec(&bad_digest).unwrap(), None),
            (serde_json::to_vec(&v1).unwrap(), None),
            (
                serde_json::to_vec(&wasm_manifest()).unwrap(),
                Some(OCI_INDEX),
            ),
            (
                br#"{"schemaVersion":2,"config":{}}"#.to_vec(),
                Some("text/plain"),
            ),
        ];
        for (bytes, content_type) in cases {
            let e = parse(&bytes, content_type).unwrap_err();
            assert_eq!(
                e.code(),
                "MANIFEST_INVALID",
                "{}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }
}
