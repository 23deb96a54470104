//! The OCI distribution spec's error codes and its JSON error envelope
//! (`{"errors":[{"code","message","detail"}]}`), with the HTTP statuses the CNCF distribution
//! server answers them with.

use http::{Response, StatusCode, header};
use skiff_respond::Body;

/// A registry failure a client sees, named by the spec's code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("blob unknown to registry: {0}")]
    BlobUnknown(String),
    #[error("blob upload invalid: {0}")]
    BlobUploadInvalid(String),
    #[error("blob upload unknown to registry: {0}")]
    BlobUploadUnknown(String),
    #[error("requested range not satisfiable: {0}")]
    RangeInvalid(String),
    /// A blob read's `Range` that is malformed or starts past the blob's end.
    #[error("requested range not satisfiable: {range:?} of a blob of {size} bytes")]
    RangeNotSatisfiable { range: String, size: u64 },
    #[error("provided digest did not match uploaded content: {0}")]
    DigestInvalid(String),
    #[error("manifest references a manifest or blob unknown to registry: {0}")]
    ManifestBlobUnknown(String),
    #[error("manifest invalid: {0}")]
    ManifestInvalid(String),
    #[error("manifest unknown to registry: {0}")]
    ManifestUnknown(String),
    #[error("invalid repository name: {0}")]
    NameInvalid(String),
    #[error("repository name not known to registry: {0}")]
    NameUnknown(String),
    #[error("provided length did not match content length: {0}")]
    SizeInvalid(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("requested access to the resource is denied: {0}")]
    Denied(String),
    #[error("the operation is unsupported: {0}")]
    Unsupported(String),
    #[error("the registry's storage failed: {0}")]
    Unavailable(String),
}

impl RegistryError {
    /// The spec's error code.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::BlobUnknown(_) => "BLOB_UNKNOWN",
            RegistryError::BlobUploadInvalid(_) | RegistryError::RangeInvalid(_) => {
                "BLOB_UPLOAD_INVALID"
            }
            RegistryError::BlobUploadUnknown(_) => "BLOB_UPLOAD_UNKNOWN",
            // Not a spec code: the CNCF distribution server's for a range it cannot serve.
            RegistryError::RangeNotSatisfiable { .. } => "RANGE_INVALID",
            RegistryError::DigestInvalid(_) => "DIGEST_INVALID",
            RegistryError::ManifestBlobUnknown(_) => "MANIFEST_BLOB_UNKNOWN",
            RegistryError::ManifestInvalid(_) => "MANIFEST_INVALID",
            RegistryError::ManifestUnknown(_) => "MANIFEST_UNKNOWN",
            RegistryError::NameInvalid(_) => "NAME_INVALID",
            RegistryError::NameUnknown(_) => "NAME_UNKNOWN",
            RegistryError::SizeInvalid(_) => "SIZE_INVALID",
            RegistryError::Unauthorized => "UNAUTHORIZED",
            RegistryError::Denied(_) => "DENIED",
            RegistryError::Unsupported(_) => "UNSUPPORTED",
            RegistryError::Unavailable(_) => "UNAVAILABLE",
        }
    }

    /// The HTTP status, as the CNCF distribution server sends each code.
    pub fn status(&self) -> StatusCode {
        match self {
            RegistryError::BlobUnknown(_)
            | RegistryError::BlobUploadUnknown(_)
            | RegistryError::ManifestUnknown(_)
            | RegistryError::NameUnknown(_) => StatusCode::NOT_FOUND,
            RegistryError::RangeInvalid(_) | RegistryError::RangeNotSatisfiable { .. } => {
                StatusCode::RANGE_NOT_SATISFIABLE
            }
            RegistryError::Unauthorized => StatusCode::UNAUTHORIZED,
            RegistryError::Denied(_) => StatusCode::FORBIDDEN,
            RegistryError::Unsupported(_) => StatusCode::METHOD_NOT_ALLOWED,
            RegistryError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            RegistryError::BlobUploadInvalid(_)
            | RegistryError::DigestInvalid(_)
            | RegistryError::ManifestBlobUnknown(_)
            | RegistryError::ManifestInvalid(_)
            | RegistryError::NameInvalid(_)
            | RegistryError::SizeInvalid(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// The spec's error envelope. A HEAD answer carries no body, only the status.
    pub fn response(&self, head: bool) -> Response<Body> {
        let envelope = serde_json::json!({
            "errors": [{ "code": self.code(), "message": self.to_string(), "detail": null }]
        });
        let mut response = skiff_respond::json(self.status(), &envelope);
        if let RegistryError::RangeNotSatisfiable { size, .. } = self
            && let Ok(value) = header::HeaderValue::from_str(&format!("bytes */{size}"))
        {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
        if head {
            *response.body_mut() = skiff_respond::full(bytes::Bytes::new());
            response.headers_mut().remove(header::CONTENT_TYPE);
        }
        response
    }
}

impl From<crate::storage::StorageError> for RegistryError {
    fn from(e: crate::storage::StorageError) -> Self {
        RegistryError::Unavailable(e.to_string())
    }
}
