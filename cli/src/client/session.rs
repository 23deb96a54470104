//! Finding the cluster as kubectl does: `--kubeconfig`, else `$KUBECONFIG` (a colon list,
//! merged, first value wins), else `~/.kube/config`; `--context` picks a context, `-n` a
//! namespace (default: the context's). A [`Session`] is one authenticated kube client plus
//! what an error message needs to say which cluster was tried.

use clap::Args;
use http::Request;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

use super::failure::Failure;

/// The flags every verb that talks to a cluster takes.
#[derive(Args, Debug, Clone, Default)]
pub struct ConnectArgs {
    /// Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context to use (default: its current-context).
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// The namespace (default: the context's namespace, else `default`).
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
}

/// A client of one cluster, and where its address came from.
pub struct Session {
    pub client: kube::Client,
    /// The API server's URL.
    pub url: String,
    /// Which kubeconfig (file or files) named it, for error messages.
    pub source: String,
    /// The namespace verbs act in unless told otherwise.
    pub namespace: String,
    /// The cluster CA the kubeconfig trusts, PEM (for credentials handed to agents).
    pub ca_pem: Option<String>,
}

impl Session {
    /// Reads the kubeconfig the flags and environment name and builds a client from it.
    pub async fn connect(args: &ConnectArgs) -> Result<Session, Failure> {
        let (kubeconfig, source) = read_kubeconfig(args)?;
        let options = KubeConfigOptions {
            context: args.context.clone(),
            cluster: None,
            user: None,
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| Failure::Config(format!("{source}: {e}")))?;
        let url = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_owned();
        let namespace = args
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let ca_pem = match (&config.root_cert, &config.root_cert_file) {
            (_, Some(file)) => std::fs::read_to_string(file).ok(),
            (Some(certs), None) => Some(pem_of(certs)),
            (None, None) => None,
        };
        let client = kube::Client::try_from(config)
            .map_err(|e| Failure::Config(format!("{source}: {e}")))?;
        Ok(Session {
            client,
            url,
            source,
            namespace,
            ca_pem,
        })
    }

    /// Turns a kube error into what a person reads (kubectl's words where they exist).
    pub fn explain(&self, error: kube::Error) -> Failure {
        Failure::from_kube(error, &self.url, &self.source)
    }

    /// One request whose answer is JSON.
    pub async fn send_json(&self, request: Request<Vec<u8>>) -> Result<Value, Failure> {
        let text = self
            .client
            .request_text(request)
            .await
            .map_err(|e| self.explain(e))?;
        serde_json::from_str(&text)
            .map_err(|e| Failure::Usage(format!("the server answered with no JSON: {e}")))
    }

    /// GET `path` as JSON.
    pub async fn get_json(&self, path: &str) -> Result<Value, Failure> {
        self.send_json(build(Request::get(path), Vec::new())?).await
    }

    /// A request of `method` on `path` with a JSON (or other `content_type`) body.
    pub async fn call(
        &self,
        method: http::Method,
        path: &str,
        content_type: &str,
        body: &Value,
    ) -> Result<Value, Failure> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Failure::Usage(format!("encoding the request: {e}")))?;
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::CONTENT_TYPE, content_type);
        self.send_json(build(request, bytes)?).await
    }
}

/// DER certificates as one PEM text.
fn pem_of(certs: &[Vec<u8>]) -> String {
    use base64::Engine;
    let mut pem = String::new();
    for der in certs {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(chunk));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem
}

/// Finishes a request builder; a bad path (bad characters in a name) is the user's error.
pub fn build(builder: http::request::Builder, body: Vec<u8>) -> Result<Request<Vec<u8>>, Failure> {
    builder
        .body(body)
        .map_err(|e| Failure::Usage(format!("cannot build the request: {e}")))
}

/// The kubeconfig to use and a description of where it came from.
fn read_kubeconfig(args: &ConnectArgs) -> Result<(Kubeconfig, String), Failure> {
    if let Some(path) = &args.kubeconfig {
        let source = format!("kubeconfig {}", path.display());
        let config =
            Kubeconfig::read_from(path).map_err(|e| Failure::Config(format!("{source}: {e}")))?;
        return Ok((config, source));
    }
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let source = format!("kubeconfig $KUBECONFIG={}", list.to_string_lossy());
        let config = Kubeconfig::from_env()
            .map_err(|e| Failure::Config(format!("{source}: {e}")))?
            .ok_or_else(|| Failure::Config(format!("{source}: no file")))?;
        return Ok((config, source));
    }
    let path = default_kubeconfig_path().ok_or_else(|| {
        Failure::Config("no kubeconfig: neither --kubeconfig, $KUBECONFIG nor $HOME is set".into())
    })?;
    if !path.exists() {
        return Err(Failure::Config(format!(
            "no cluster configured: {} does not exist and neither --kubeconfig nor $KUBECONFIG is set (start one with `skiff up`)",
            path.display()
        )));
    }
    let source = format!("kubeconfig {}", path.display());
    let config =
        Kubeconfig::read_from(&path).map_err(|e| Failure::Config(format!("{source}: {e}")))?;
    Ok((config, source))
}

/// `~/.kube/config`.
pub fn default_kubeconfig_path() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| std::path::PathBuf::from(home).join(".kube").join("config"))
}
