//! `skiff push FILE NAME[:TAG]`: uploads a Wasm module or component to the cluster's built-in
//! registry as an OCI Wasm artifact (CNCF TAG Runtime's wasm-oci-artifact: an
//! `application/vnd.wasm.config.v0+json` config and one `application/wasm` layer), then prints
//! the manifest's digest. The cluster is the [`Session`]'s, found as every client verb finds
//! it (`--kubeconfig`, `$KUBECONFIG`, `~/.kube/config`, `--context`); `skiff run` of a local
//! file pushes through [`push_for_pods`]. A registry error reads as kubectl reads a Status
//! (`Error from server (DENIED): ...`), an unreachable cluster names its URL and kubeconfig.

use std::path::PathBuf;

use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::failure::{Failure, chain};
use super::session::Session;

/// The host name pod specs use for the built-in registry (`registry.skiff.local/app:v1`).
pub const REGISTRY_HOST: &str = "registry.skiff.local";
const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
const WASM_LAYER: &str = "application/wasm";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Bytes per upload request; a file larger than one chunk gets a progress bar.
const CHUNK: usize = 4 * 1024 * 1024;

#[derive(clap::Args, Debug)]
pub struct PushArgs {
    /// The .wasm file (a core module or a component).
    pub file: PathBuf,
    /// Repository and tag, e.g. `app:v1` (tag `latest` when omitted); a leading
    /// `registry.skiff.local/` is allowed.
    pub reference: String,
}

/// Which kind of Wasm binary a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmKind {
    Module,
    Component,
}

/// Checks the Wasm preamble: `\0asm`, then version 1 (a core module) or layer 1 (a component).
pub fn wasm_kind(bytes: &[u8]) -> Option<WasmKind> {
    let preamble = bytes.get(..8)?;
    if &preamble[..4] != b"\0asm" {
        return None;
    }
    match preamble[4..8] {
        [1, 0, 0, 0] => Some(WasmKind::Module),
        [_, _, 1, 0] => Some(WasmKind::Component),
        _ => None,
    }
}

/// `NAME[:TAG]` -> (repository, tag).
fn split_reference(reference: &str) -> Result<(String, String), Failure> {
    let reference = reference
        .strip_prefix(REGISTRY_HOST)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(reference);
    let (name, tag) = match reference.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (reference, "latest"),
    };
    if name.is_empty() || tag.is_empty() {
        return Err(Failure::Usage(format!("{reference:?} is not NAME:TAG")));
    }
    Ok((name.to_owned(), tag.to_owned()))
}

/// The file's name, as ORAS records a layer's (`org.opencontainers.image.title`).
fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "module.wasm".to_owned())
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

pub async fn run(session: &Session, args: &PushArgs) -> Result<(), Failure> {
    let file = &args.file;
    let bytes = std::fs::read(file)
        .map_err(|e| Failure::Usage(format!("reading {}: {e}", file.display())))?;
    let Some(kind) = wasm_kind(&bytes) else {
        return Err(Failure::Usage(format!(
            "{} is not a WebAssembly module or component (it does not start with the Wasm magic \
             and version); nothing was uploaded",
            file.display()
        )));
    };
    let (name, tag) = split_reference(&args.reference)?;
    let digest = Registry::of(session)
        .push_artifact(file, &bytes, kind, &name, &tag)
        .await?;
    println!("pushed {REGISTRY_HOST}/{name}:{tag}");
    println!("digest: {digest}");
    Ok(())
}

/// Pushes the Wasm file `file` (its `bytes`) as `name:tag` to the built-in registry of the
/// session's cluster; returns the reference a pod spec names it by. `skiff run` of a local
/// file calls this.
pub async fn push_for_pods(
    session: &Session,
    file: &std::path::Path,
    bytes: &[u8],
    name: &str,
    tag: &str,
) -> Result<String, Failure> {
    let Some(kind) = wasm_kind(bytes) else {
        return Err(Failure::Usage(format!(
            "{} is not a WebAssembly module or component",
            file.display()
        )));
    };
    Registry::of(session)
        .push_artifact(file, bytes, kind, name, tag)
        .await?;
    Ok(format!("{REGISTRY_HOST}/{name}:{tag}"))
}

impl Registry {
    /// Uploads the layer and config blobs and the manifest; returns the manifest's digest.
    async fn push_artifact(
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
}

/// The cluster's registry, reached through the session's server and credentials.
struct Registry {
    client: kube::Client,
    server: String,
    /// Which kubeconfig named the server, for an unreachable cluster's message.
    source: String,
}

impl Registry {
    fn of(session: &Session) -> Registry {
        Registry {
            client: session.client.clone(),
            server: session.url.clone(),
            source: session.source.clone(),
        }
    }

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
    use super::{CHUNK, WasmKind, last_chunk_start, split_reference, wasm_kind};

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

    #[test]
    fn only_wasm_modules_and_components_are_accepted() {
        assert_eq!(wasm_kind(b"\0asm\x01\0\0\0rest"), Some(WasmKind::Module));
        assert_eq!(wasm_kind(b"\0asm\x0d\0\x01\0"), Some(WasmKind::Component));
        assert_eq!(wasm_kind(b"\0asm\x02\0\0\0"), None);
        assert_eq!(wasm_kind(b"(module)"), None);
        assert_eq!(wasm_kind(b"\0asm"), None);
    }

    #[test]
    fn references_split_into_name_and_tag() {
        let split = |r| split_reference(r).unwrap();
        assert_eq!(split("app:v1"), ("app".into(), "v1".into()));
        assert_eq!(
            split("registry.skiff.local/team/app:v2"),
            ("team/app".into(), "v2".into())
        );
        assert_eq!(split("app"), ("app".into(), "latest".into()));
        assert!(split_reference(":v1").is_err());
    }
}
