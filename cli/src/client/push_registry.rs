//! The cluster's built-in registry as `skiff push` talks to it: a Wasm artifact's blobs and
//! manifest uploaded over the OCI distribution API (large blobs in chunks, with a progress
//! bar), and the registry's errors read as kubectl reads a Status.

use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::failure::{Failure, chain};
use super::push::WasmKind;
use super::session::Session;

const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
const WASM_LAYER: &str = "application/wasm";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Bytes per upload request; a file larger than one chunk gets a progress bar.
const CHUNK: usize = 4 * 1024 * 1024;

/// The file's name, as ORAS records a layer's (`org.opencontainers.image.title`).
fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "module.wasm".to_owned())
}

/// The OCI digest of `bytes` (`sha256:` and the hex).
fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The cluster's registry, reached through the session's server and credentials.
pub(super) struct Registry {
    client: kube::Client,
    server: String,
    /// Which kubeconfig named the server, for an unreachable cluster's message.
    source: String,
}

impl Registry {
    /// The registry of the session's cluster, with its client and credentials.
    pub(super) fn of(session: &Session) -> Registry {
        Registry {
            client: session.client.clone(),
            server: session.url.clone(),
            source: session.source.clone(),
        }
    }

    /// Uploads the layer and config blobs and the manifest; returns the manifest's digest.
    pub(super) async fn push_artifact(
        &self,
        file: &std::path::Path,
        bytes: &[u8],
        kind: WasmKind,
        name: &str,
        tag: &str,
    ) -> Result<String, Failure> {
        let registry = self;
        let layer = sha256(bytes);
        registry.upload_blob(name, bytes, &layer).await?;
        let os = match kind {
            WasmKind::Module => "wasip1",
            WasmKind::Component => "wasip2",
        };
        let config = serde_json::json!({
            "architecture": "wasm",
            "os": os,
            "layerDigests": [layer],
        })
        .to_string()
        .into_bytes();
        let config_digest = sha256(&config);
        registry.upload_blob(name, &config, &config_digest).await?;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": WASM_CONFIG,
            "config": {"mediaType": WASM_CONFIG, "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": WASM_LAYER, "digest": layer, "size": bytes.len(),
                "annotations": {"org.opencontainers.image.title": file_name(file)}}],
        })
        .to_string()
        .into_bytes();
        let path = format!("/v2/{name}/manifests/{tag}");
        let answer = registry
            .call(Method::PUT, &path, Some(OCI_MANIFEST), manifest.clone())
            .await?;
        answer.expect(StatusCode::CREATED, "pushing the manifest")?;
        Ok(sha256(&manifest))
    }

    /// Sends a request with `body` (and `content_type`, if any) to `path` on the cluster.
    async fn call(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Answer, Failure> {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(content_type) = content_type {
            request = request.header(http::header::CONTENT_TYPE, content_type);
        }
        self.send(request, body).await
    }

    /// Uploads a blob unless the registry has it: one session, the bytes in `CHUNK`-sized
    /// `PATCH`es (with a progress bar when there is more than one chunk) but the last, which
    /// the closing `PUT` carries. The registry relays the body of that `PUT` to its peers
    /// while it arrives, so a blob of one chunk is replicated during its upload.
    async fn upload_blob(&self, name: &str, bytes: &[u8], digest: &str) -> Result<(), Failure> {
        let head = self
            .call(
                Method::HEAD,
                &format!("/v2/{name}/blobs/{digest}"),
                None,
                Vec::new(),
            )
            .await?;
        if head.status == StatusCode::OK {
            return Ok(());
        }
        let start = self
            .call(
                Method::POST,
                &format!("/v2/{name}/blobs/uploads/"),
                None,
                Vec::new(),
            )
            .await?;
        start.expect(StatusCode::ACCEPTED, "starting an upload")?;
        let bar = progress_bar(bytes.len());
        let (location, sent) = self
            .patch_all_but_last(start.location()?, bytes, bar.as_ref())
            .await?;
        let separator = if location.contains('?') { '&' } else { '?' };
        let request = Request::builder()
            .method(Method::PUT)
            .uri(format!("{location}{separator}digest={digest}"))
            .header(http::header::CONTENT_TYPE, "application/octet-stream");
        let done = self.send(request, bytes[sent..].to_vec()).await?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        done.expect(StatusCode::CREATED, "completing the upload")
    }

    /// Sends every `CHUNK` of `bytes` but the last as a `PATCH` to the session at `location`;
    /// returns where the session now is and how many bytes went.
    async fn patch_all_but_last(
        &self,
        mut location: String,
        bytes: &[u8],
        bar: Option<&ProgressBar>,
    ) -> Result<(String, usize), Failure> {
        let mut sent = 0usize;
        for piece in bytes[..last_chunk_start(bytes.len())].chunks(CHUNK) {
            let range = format!("{sent}-{}", sent + piece.len() - 1);
            let request = Request::builder()
                .method(Method::PATCH)
                .uri(&location)
                .header(http::header::CONTENT_TYPE, "application/octet-stream")
                .header(http::header::CONTENT_RANGE, range);
            let answer = self.send(request, piece.to_vec()).await?;
            answer.expect(StatusCode::ACCEPTED, "uploading")?;
            location = answer.location()?;
            sent += piece.len();
            if let Some(bar) = bar {
                bar.set_position(sent as u64);
            }
        }
        Ok((location, sent))
    }

    /// Sends `request` with `body` and reads the whole answer; a transport error reads as an
    /// unreachable cluster.
    async fn send(
        &self,
        request: http::request::Builder,
        body: Vec<u8>,
    ) -> Result<Answer, Failure> {
        let request = request
            .body(kube::client::Body::from(body))
            .map_err(|e| Failure::Usage(format!("cannot build the request: {e}")))?;
        let unreachable = |cause: String| Failure::Unreachable {
            url: self.server.clone(),
            source_desc: self.source.clone(),
            cause,
        };
        let response = self
            .client
            .send(request)
            .await
            .map_err(|e| unreachable(chain(&e)))?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| unreachable(chain(&e)))?;
        Ok(Answer {
            status: parts.status,
            body: body.to_bytes().to_vec(),
            headers: parts.headers,
        })
    }
}

/// Where the last `CHUNK` of `len` bytes starts (0 for one chunk or none).
fn last_chunk_start(len: usize) -> usize {
    len.saturating_sub(1) / CHUNK * CHUNK
}

/// A progress bar on stderr for uploads of more than one chunk.
fn progress_bar(len: usize) -> Option<ProgressBar> {
    if len <= CHUNK {
        return None;
    }
    let bar = ProgressBar::new(len as u64);
    let style = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

/// A registry's answer.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
    headers: http::HeaderMap,
}

impl Answer {
    /// Fails unless the status is `wanted`, with the registry's error code and message as
    /// kubectl prints a Status (`Error from server (DENIED): ...`).
    fn expect(&self, wanted: StatusCode, doing: &str) -> Result<(), Failure> {
        if self.status == wanted {
            return Ok(());
        }
        let first_error = serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| {
                let e = v.get("errors")?.get(0)?.clone();
                let code = e.get("code")?.as_str()?.to_owned();
                Some((code, e.get("message")?.as_str()?.to_owned()))
            });
        let (reason, message) = first_error.unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&self.body).trim().to_owned();
            (String::new(), text)
        });
        Err(Failure::Server {
            code: self.status.as_u16(),
            reason,
            message: format!("{doing}: {message}"),
        })
    }

    /// Where the registry says the upload session now is (its `Location` header).
    fn location(&self) -> Result<String, Failure> {
        self.headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| Failure::Usage("the registry's answer has no Location".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::{CHUNK, last_chunk_start};

    #[test]
    fn the_closing_put_carries_the_last_chunk() {
        let cases = [
            (0, 0),
            (1, 0),
            (CHUNK, 0),
            (CHUNK + 1, CHUNK),
            (2 * CHUNK, CHUNK),
            (10 * 1024 * 1024 + 8, 2 * CHUNK),
        ];
        for (len, start) in cases {
            assert_eq!(last_chunk_start(len), start, "{len} bytes");
        }
    }
}
