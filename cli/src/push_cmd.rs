//! `skiff push FILE NAME[:TAG]`: uploads a Wasm module or component to the cluster's built-in
//! registry as an OCI Wasm artifact (CNCF TAG Runtime's wasm-oci-artifact: an
//! `application/vnd.wasm.config.v0+json` config and one `application/wasm` layer), then prints
//! the manifest's digest. The cluster is found as kubectl finds it (`--kubeconfig`,
//! `$KUBECONFIG`, `~/.kube/config`, `--context`), through kube-rs's `Config`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use indicatif::{ProgressBar, ProgressStyle};
use kube::config::{KubeConfigOptions, Kubeconfig};
use sha2::{Digest, Sha256};

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
    /// The kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long)]
    pub context: Option<String>,
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
fn split_reference(reference: &str) -> anyhow::Result<(String, String)> {
    let reference = reference
        .strip_prefix(REGISTRY_HOST)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(reference);
    let (name, tag) = match reference.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (reference, "latest"),
    };
    if name.is_empty() || tag.is_empty() {
        bail!("{reference:?} is not NAME:TAG");
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

pub async fn run(args: PushArgs) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let Some(kind) = wasm_kind(&bytes) else {
        bail!(
            "{} is not a WebAssembly module or component (it does not start with the Wasm magic \
             and version); nothing was uploaded",
            args.file.display()
        );
    };
    let (name, tag) = split_reference(&args.reference)?;
    let registry = Registry::connect(&args).await?;
    let digest = registry
        .push_artifact(&args.file, &bytes, kind, &name, &tag)
        .await?;
    println!("pushed {REGISTRY_HOST}/{name}:{tag}");
    println!("digest: {digest}");
    Ok(())
}

/// Pushes the Wasm file `file` (its `bytes`) as `name:tag` to the built-in registry of the
/// cluster `client` reaches; returns the reference a pod spec names it by. `skiff run` of a
/// local file calls this.
pub async fn push_for_pods(
    (client, server): (kube::Client, String),
    file: &std::path::Path,
    bytes: &[u8],
    name: &str,
    tag: &str,
) -> anyhow::Result<String> {
    let Some(kind) = wasm_kind(bytes) else {
        bail!(
            "{} is not a WebAssembly module or component",
            file.display()
        );
    };
    let registry = Registry { client, server };
    registry.push_artifact(file, bytes, kind, name, tag).await?;
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
    ) -> anyhow::Result<String> {
        let registry = self;
        let layer = sha256(bytes);
        registry.upload_blob(name, bytes, &layer).await?;
        let os = match kind {
            WasmKind::Module => "wasip1",
            WasmKind::Component => "wasip2",
        };
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "wasm",
            "os": os,
            "layerDigests": [layer],
        }))?;
        let config_digest = sha256(&config);
        registry.upload_blob(name, &config, &config_digest).await?;
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": WASM_CONFIG,
            "config": {"mediaType": WASM_CONFIG, "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": WASM_LAYER, "digest": layer, "size": bytes.len(),
                "annotations": {"org.opencontainers.image.title": file_name(file)}}],
        }))?;
        let path = format!("/v2/{name}/manifests/{tag}");
        let answer = registry
            .call(Method::PUT, &path, Some(OCI_MANIFEST), manifest.clone())
            .await?;
        answer.expect(StatusCode::CREATED, "pushing the manifest")?;
        Ok(sha256(&manifest))
    }
}

/// The cluster's registry, reached through the kubeconfig's server and credentials.
struct Registry {
    client: kube::Client,
    server: String,
}

impl Registry {
    async fn connect(args: &PushArgs) -> anyhow::Result<Registry> {
        let options = KubeConfigOptions {
            context: args.context.clone(),
            ..KubeConfigOptions::default()
        };
        let config = match &args.kubeconfig {
            Some(path) => {
                let kubeconfig = Kubeconfig::read_from(path)
                    .with_context(|| format!("reading kubeconfig {}", path.display()))?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &options).await
            }
            None => kube::Config::from_kubeconfig(&options).await,
        }
        .context("loading the kubeconfig")?;
        let server = config.cluster_url.to_string();
        let client = kube::Client::try_from(config).context("building a client for the cluster")?;
        Ok(Registry { client, server })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> anyhow::Result<Answer> {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(content_type) = content_type {
            request = request.header(http::header::CONTENT_TYPE, content_type);
        }
        let request = request.body(kube::client::Body::from(body))?;
        self.send(request).await
    }

    /// Uploads a blob unless the registry has it: one session, the bytes in `CHUNK`-sized
    /// `PATCH`es (with a progress bar when there is more than one), then the closing `PUT`.
    async fn upload_blob(&self, name: &str, bytes: &[u8], digest: &str) -> anyhow::Result<()> {
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
        let mut location = start.location()?;
        let bar = progress_bar(bytes.len());
        let mut sent = 0usize;
        for piece in bytes.chunks(CHUNK) {
            let range = format!("{sent}-{}", sent + piece.len() - 1);
            let request = Request::builder()
                .method(Method::PATCH)
                .uri(&location)
                .header(http::header::CONTENT_TYPE, "application/octet-stream")
                .header(http::header::CONTENT_RANGE, range)
                .body(kube::client::Body::from(piece.to_vec()))?;
            let answer = self.send(request).await?;
            answer.expect(StatusCode::ACCEPTED, "uploading")?;
            location = answer.location()?;
            sent += piece.len();
            if let Some(bar) = &bar {
                bar.set_position(sent as u64);
            }
        }
        let separator = if location.contains('?') { '&' } else { '?' };
        let done = self
            .call(
                Method::PUT,
                &format!("{location}{separator}digest={digest}"),
                None,
                Vec::new(),
            )
            .await?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        done.expect(StatusCode::CREATED, "completing the upload")
    }

    async fn send(&self, request: Request<kube::client::Body>) -> anyhow::Result<Answer> {
        let response = self
            .client
            .send(request)
            .await
            .with_context(|| format!("cannot reach the cluster at {}", self.server))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .context("reading the registry's answer")?;
        Ok(Answer {
            status: parts.status,
            body: body.to_bytes().to_vec(),
            headers: parts.headers,
        })
    }
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
    /// Fails unless the status is `wanted`, with the registry's error code and message.
    fn expect(&self, wanted: StatusCode, doing: &str) -> anyhow::Result<()> {
        if self.status == wanted {
            return Ok(());
        }
        let detail = serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| {
                let e = v.get("errors")?.get(0)?.clone();
                Some(format!(
                    "{}: {}",
                    e.get("code")?.as_str()?,
                    e.get("message")?.as_str()?
                ))
            })
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).trim().to_owned());
        bail!("{doing}: the registry answered {}: {detail}", self.status)
    }

    fn location(&self) -> anyhow::Result<String> {
        self.headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .context("the registry's answer has no Location")
    }
}

#[cfg(test)]
mod tests {
    use super::{WasmKind, split_reference, wasm_kind};

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
