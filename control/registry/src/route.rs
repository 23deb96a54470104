//! Request URL -> the distribution endpoint it names (end-1 to end-13 of the OCI distribution
//! spec), with the repository name and reference checked against the spec's grammar. Pure.

use http::Method;

use crate::digest::Digest;
use crate::error::RegistryError;

/// What a request asks of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// end-1: `GET /v2/`.
    Version,
    /// end-2, end-10: `GET`/`HEAD`/`DELETE /v2/<name>/blobs/<digest>`.
    Blob { name: String, digest: Digest },
    /// end-4a/4b/11: `POST /v2/<name>/blobs/uploads/`.
    StartUpload { name: String },
    /// end-5, end-6, end-13 and cancel: `PATCH`/`PUT`/`GET`/`DELETE .../blobs/uploads/<id>`.
    Upload { name: String, id: String },
    /// end-3, end-7, end-9: `/v2/<name>/manifests/<tag or digest>`.
    Manifest { name: String, reference: Reference },
    /// end-8: `GET /v2/<name>/tags/list`.
    Tags { name: String },
    /// end-12: `GET /v2/<name>/referrers/<digest>`.
    Referrers { name: String, digest: Digest },
}

/// A manifest reference: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Tag(String),
    Digest(Digest),
}

/// What a request does to its repository, for authorisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pull,
    Push,
    Delete,
}

impl Action {
    /// The RBAC verb this action is authorised as.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
        }
    }
}

impl Route {
    /// The repository and what the request does to it (`None` for `/v2/` itself).
    pub fn scope(&self, method: &Method) -> Option<(&str, Action)> {
        let name = match self {
            Route::Version => return None,
            Route::Blob { name, .. }
            | Route::StartUpload { name }
            | Route::Upload { name, .. }
            | Route::Manifest { name, .. }
            | Route::Tags { name }
            | Route::Referrers { name, .. } => name.as_str(),
        };
        let action = match (self, method) {
            (Route::StartUpload { .. } | Route::Upload { .. }, _) => Action::Push,
            (_, &Method::GET | &Method::HEAD) => Action::Pull,
            (Route::Manifest { .. }, &Method::PUT) => Action::Push,
            (_, &Method::DELETE) => Action::Delete,
            _ => Action::Push,
        };
        Some((name, action))
    }
}

/// Parses a path under `/v2`. `Ok(None)`: not a registry path at all.
pub fn parse(path: &str) -> Result<Option<Route>, RegistryError> {
    let Some(rest) = path.strip_prefix("/v2") else {
        return Ok(None);
    };
    if rest.is_empty() || rest == "/" {
        return Ok(Some(Route::Version));
    }
    let Some(rest) = rest.strip_prefix('/') else {
        return Ok(None);
    };
    if let Some(name) = rest
        .strip_suffix("/blobs/uploads/")
        .or_else(|| rest.strip_suffix("/blobs/uploads"))
    {
        return Ok(Some(Route::StartUpload {
            name: repository(name)?,
        }));
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Ok(Some(Route::Tags {
            name: repository(name)?,
        }));
    }
    let Some((head, last)) = rest.rsplit_once('/') else {
        return Ok(None);
    };
    if let Some(name) = head.strip_suffix("/blobs/uploads") {
        let id = upload_id(last)?;
        return Ok(Some(Route::Upload {
            name: repository(name)?,
            id,
        }));
    }
    if let Some(name) = head.strip_suffix("/blobs") {
        let digest = Digest::parse(last)?;
        return Ok(Some(Route::Blob {
            name: repository(name)?,
            digest,
        }));
    }
    if let Some(name) = head.strip_suffix("/referrers") {
        let digest = Digest::parse(last)?;
        return Ok(Some(Route::Referrers {
            name: repository(name)?,
            digest,
        }));
    }
    if let Some(name) = head.strip_suffix("/manifests") {
        let reference = reference(last)?;
        return Ok(Some(Route::Manifest {
            name: repository(name)?,
            reference,
        }));
    }
    Ok(None)
}

/// A repository name per the spec:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
pub fn repository(name: &str) -> Result<String, RegistryError> {
    let invalid = || RegistryError::NameInvalid(format!("{name:?}"));
    if name.is_empty() || name.len() > 255 {
        return Err(invalid());
    }
    for component in name.split('/') {
        if !valid_component(component) {
            return Err(invalid());
        }
    }
    Ok(name.to_owned())
}

fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let ok = separator == "."
            || separator == "_"
            || separator == "__"
            || separator.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// A tag (`[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`) or a digest.
pub fn reference(text: &str) -> Result<Reference, RegistryError> {
    if text.contains(':') {
        return Digest::parse(text).map(Reference::Digest);
    }
    let bytes = text.as_bytes();
    let tag_char = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
    let valid = !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes.iter().all(tag_char);
    if valid {
        Ok(Reference::Tag(text.to_owned()))
    } else {
        Err(RegistryError::ManifestInvalid(format!(
            "{text:?} is neither a tag nor a digest"
        )))
    }
}

fn upload_id(text: &str) -> Result<String, RegistryError> {
    if !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(text.to_owned())
    } else {
        Err(RegistryError::BlobUploadUnknown(format!("{text:?}")))
    }
}

#[cfg(test)]
mod tests;
