//! The blob endpoints: read (end-2), delete (end-10), and uploads: monolithic (end-4b),
//! session start (end-4a), chunks (end-5), completion (end-6), status (end-13), cross-repository
//! mount (end-11) and cancel.

use http::{Method, Response, StatusCode, header};
use skiff_respond::Body;

use crate::digest::Digest;
use crate::error::RegistryError;
use crate::route::Route;
use crate::storage::Storage;
use crate::{MAX_BLOB_BYTES, Registry, RegistryRequest, blobs, empty, set_header};

impl<S: Storage> Registry<S> {
    pub(crate) async fn get_blob(
        &self,
        request: &RegistryRequest,
    ) -> Result<Response<Body>, RegistryError> {
        let Route::Blob { digest, .. } = &request.route else {
            return Err(unrouted());
        };
        let Some(meta) = blobs::meta(&self.storage, digest).await? else {
            return Err(RegistryError::BlobUnknown(digest.to_string()));
        };
        let mut response = if request.method == Method::HEAD {
            empty(StatusCode::OK)
        } else {
            let bytes = blobs::read(&self.storage, digest, &meta).await?;
            skiff_respond::bytes(StatusCode::OK, "application/octet-stream", bytes)
        };
        set_header(&mut response, "content-length", &meta.size.to_string());
        set_header(&mut response, "docker-content-digest", &digest.to_string());
        if request.method == Method::HEAD {
            set_header(&mut response, "content-type", "application/octet-stream");
        }
        Ok(response)
    }

    pub(crate) async fn delete_blob(
        &self,
        request: &RegistryRequest,
    ) -> Result<Response<Body>, RegistryError> {
        let Route::Blob { digest, .. } = &request.route else {
            return Err(unrouted());
        };
        let Some(meta) = blobs::meta(&self.storage, digest).await? else {
            return Err(RegistryError::BlobUnknown(digest.to_string()));
        };
        blobs::delete(&self.storage, digest.hex(), &meta, None).await?;
        Ok(empty(StatusCode::ACCEPTED))
    }

    pub(crate) async fn start_upload(
        &self,
        request: &RegistryRequest,
        now: u64,
    ) -> Result<Response<Body>, RegistryError> {
        let Route::StartUpload { name } = &request.route else {
            return Err(unrouted());
        };
        if let Some(mount) = request.query_param("mount") {
            // Blobs are shared by every repository: a mount succeeds iff the blob is stored.
            let digest = Digest::parse(&mount)?;
            if blobs::meta(&self.storage, &digest).await?.is_some() {
                return Ok(created(name, &digest));
            }
        } else if let Some(digest) = request.query_param("digest") {
            let digest = Digest::parse(&digest)?;
            check_size(request.body.len())?;
            blobs::put(&self.storage, &digest, &request.body, now).await?;
            return Ok(created(name, &digest));
        }
        let id = self.uploads.start(name);
        let mut response = empty(StatusCode::ACCEPTED);
        set_header(
            &mut response,
            "location",
            &format!("/v2/{name}/blobs/uploads/{id}"),
        );
        set_header(&mut response, "docker-upload-uuid", &id);
        set_header(&mut response, "range", "0-0");
        Ok(response)
    }

    pub(crate) fn patch_upload(
        &self,
        request: &RegistryRequest,
    ) -> Result<Response<Body>, RegistryError> {
        let Route::Upload { name, id } = &request.route else {
            return Err(unrouted());
        };
        let start = content_range_start(request)?;
        let size = self
            .uploads
            .append(name, id, start, &request.body, MAX_BLOB_BYTES)?;
        Ok(progress(StatusCode::ACCEPTED, name, id, size))
    }

    pub(crate) async fn finish_upload(
        &self,
        request: &RegistryRequest,
        now: u64,
    ) -> Result<Response<Body>, RegistryError> {
        let Route::Upload { name, id } = &request.route else {
            return Err(unrouted());
        };
        let Some(digest) = request.query_param("digest") else {
            return Err(RegistryError::DigestInvalid(
                "the final PUT needs ?digest=".into(),
            ));
        };
        let digest = Digest::parse(&digest)?;
        if !request.body.is_empty() {
            let start = content_range_start(request)?;
            self.uploads
                .append(name, id, start, &request.body, MAX_BLOB_BYTES)?;
        }
        let bytes = self.uploads.take(name, id)?;
        blobs::put(&self.storage, &digest, &bytes, now).await?;
        Ok(created(name, &digest))
    }

    pub(crate) fn upload_status(
        &self,
        request: &RegistryRequest,
    ) -> Result<Response<Body>, RegistryError> {
        let Route::Upload { name, id } = &request.route else {
            return Err(unrouted());
        };
        let size = self.uploads.size(name, id)?;
        Ok(progress(StatusCode::NO_CONTENT, name, id, size))
    }

    pub(crate) fn cancel_upload(
        &self,
        request: &RegistryRequest,
    ) -> Result<Response<Body>, RegistryError> {
        let Route::Upload { name, id } = &request.route else {
            return Err(unrouted());
        };
        self.uploads.take(name, id)?;
        Ok(empty(StatusCode::NO_CONTENT))
    }
}

/// A route that does not match its handler: `dispatch` never does this.
fn unrouted() -> RegistryError {
    RegistryError::Unsupported("request routed to the wrong handler".into())
}

fn check_size(len: usize) -> Result<(), RegistryError> {
    if len > MAX_BLOB_BYTES {
        return Err(RegistryError::SizeInvalid(format!(
            "a blob may hold at most {MAX_BLOB_BYTES} bytes"
        )));
    }
    Ok(())
}

/// 201 for a stored blob.
fn created(name: &str, digest: &Digest) -> Response<Body> {
    let mut response = empty(StatusCode::CREATED);
    set_header(
        &mut response,
        "location",
        &format!("/v2/{name}/blobs/{digest}"),
    );
    set_header(&mut response, "docker-content-digest", &digest.to_string());
    response
}

/// A session's progress: where to send the next chunk and what has arrived
/// (`Range: 0-<last byte>`, as the spec writes it; `0-0` before the first byte).
fn progress(status: StatusCode, name: &str, id: &str, size: u64) -> Response<Body> {
    let mut response = empty(status);
    set_header(
        &mut response,
        "location",
        &format!("/v2/{name}/blobs/uploads/{id}"),
    );
    set_header(&mut response, "docker-upload-uuid", id);
    set_header(
        &mut response,
        "range",
        &format!("0-{}", size.saturating_sub(1)),
    );
    response
}

/// The start of `Content-Range: <start>-<end>` (a missing header means "append").
fn content_range_start(request: &RegistryRequest) -> Result<Option<u64>, RegistryError> {
    let Some(range) = request.header(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let range = range
        .trim()
        .trim_start_matches("bytes ")
        .trim_start_matches("bytes=");
    let parsed = range.split_once('-').and_then(|(start, end)| {
        let start: u64 = start.trim().parse().ok()?;
        let end: u64 = end.trim().parse().ok()?;
        Some((start, end))
    });
    match parsed {
        Some((start, end)) if end + 1 >= start && end + 1 - start == request.body.len() as u64 => {
            Ok(Some(start))
        }
        _ => Err(RegistryError::RangeInvalid(format!(
            "Content-Range {range:?} does not describe the {} bytes sent",
            request.body.len()
        ))),
    }
}
