//! `skiff run NAME --image FILE|REF`: a Deployment of one Wasm container (label `app=NAME`),
//! server-side applied so running it again updates it; with `--expose`, a NodePort Service;
//! with `--wait`, a live progress line until the Deployment is Available; then how to reach
//! it. A local file is checked to be WebAssembly before anything is created
//! ([`resolve_image`], where the registry's push will go).

use std::path::Path;
use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};

use super::apply::FIELD_MANAGER;
use super::failure::Failure;
use super::session::Session;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The Deployment's (and Service's) name.
    pub name: String,
    /// A local .wasm file (module or component) or an OCI reference.
    #[arg(long)]
    pub image: String,
    #[arg(long, default_value_t = 1)]
    pub replicas: u32,
    /// The port the module serves on (a containerPort, and the Service's port).
    #[arg(long)]
    pub port: Option<u16>,
    /// Also create a Service of type NodePort for --port.
    #[arg(long, requires = "port")]
    pub expose: bool,
    /// The Service's node port (default: one the server picks).
    #[arg(long, requires = "expose")]
    pub node_port: Option<u16>,
    /// Environment variables, K=V (repeatable).
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// Wait until the Deployment is Available, with a progress line.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

/// The first bytes of every WebAssembly binary (module or component).
const WASM_MAGIC: &[u8] = b"\0asm";

/// `arg` checked: a local file must be WebAssembly (its absolute path is returned, and [`run`]
/// pushes it); anything else is an OCI reference, passed through for the agents to pull.
pub fn resolve_image(arg: &str) -> Result<String, Failure> {
    let path = Path::new(arg);
    if !path.exists() {
        // Not a file here: an OCI reference, pulled by the agent.
        return Ok(arg.to_owned());
    }
    let bytes = std::fs::read(path).map_err(|e| Failure::Usage(format!("reading {arg}: {e}")))?;
    if !bytes.starts_with(WASM_MAGIC) {
        return Err(Failure::Usage(format!(
            "{arg} is not a WebAssembly binary (no \\0asm header): skiff runs .wasm modules and components"
        )));
    }
    let absolute =
        std::fs::canonicalize(path).map_err(|e| Failure::Usage(format!("resolving {arg}: {e}")))?;
    Ok(absolute.display().to_string())
}

/// A local .wasm file goes to the cluster's built-in registry first (tagged by its content, so
/// a new build rolls the Deployment); the pods then pull it on any node.
async fn push_local(session: &Session, args: &RunArgs, path: &str) -> Result<String, Failure> {
    let bytes = std::fs::read(path).map_err(|e| Failure::Usage(format!("reading {path}: {e}")))?;
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    let tag = format!("sha-{}", &digest[..12]);
    let file = Path::new(path);
    let pushed = super::push::push_for_pods(session, file, &bytes, &args.name, &tag).await?;
    println!("pushed {pushed}");
    Ok(pushed)
}

pub async fn run(session: &Session, args: &RunArgs) -> Result<(), Failure> {
    let resolved = resolve_image(&args.image)?;
    let image = if Path::new(&args.image).exists() {
        push_local(session, args, &resolved).await?
    } else {
        resolved
    };
    let env = parse_env(&args.env)?;
    let ns = &session.namespace;
    let deployment = deployment(args, &image, env);
    let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/{}", args.name);
    apply(session, &path, &deployment).await?;
    println!("deployment.apps/{} serverside-applied", args.name);
    if args.expose {
        let service = service(args);
        let path = format!("/api/v1/namespaces/{ns}/services/{}", args.name);
        apply(session, &path, &service).await?;
        println!("service/{} serverside-applied", args.name);
    }
    if args.wait {
        super::run_wait::available(session, &args.name, args.timeout).await?;
    }
    super::run_wait::print_reach(session, args).await
}

async fn apply(session: &Session, path: &str, object: &Value) -> Result<(), Failure> {
    let path = format!("{path}?fieldManager={FIELD_MANAGER}&force=true");
    session
        .call(
            http::Method::PATCH,
            &path,
            "application/apply-patch+yaml",
            object,
        )
        .await?;
    Ok(())
}

fn parse_env(pairs: &[String]) -> Result<Vec<Value>, Failure> {
    pairs
        .iter()
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| Failure::Usage(format!("invalid env: {pair} (expected K=V)")))?;
            Ok(json!({"name": key, "value": value}))
        })
        .collect()
}

/// The Deployment `skiff run` applies.
pub fn deployment(args: &RunArgs, image: &str, env: Vec<Value>) -> Value {
    let mut container = json!({"name": args.name, "image": image});
    if let Some(port) = args.port {
        container["ports"] = json!([{"containerPort": port}]);
    }
    if !env.is_empty() {
        container["env"] = Value::Array(env);
    }
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": args.name, "labels": {"app": args.name}},
        "spec": {
            "replicas": args.replicas,
            "selector": {"matchLabels": {"app": args.name}},
            "template": {
                "metadata": {"labels": {"app": args.name}},
                "spec": {"containers": [container]}
            }
        }
    })
}

/// The NodePort Service of `--expose`.
pub fn service(args: &RunArgs) -> Value {
    let mut port =
        json!({"name": "http", "port": args.port, "targetPort": args.port, "protocol": "TCP"});
    if let Some(node_port) = args.node_port {
        port["nodePort"] = json!(node_port);
    }
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": args.name, "labels": {"app": args.name}},
        "spec": {"type": "NodePort", "selector": {"app": args.name}, "ports": [port]}
    })
}

/// A pause between looks at a rollout.
pub const POLL: Duration = Duration::from_millis(300);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_files_must_be_wasm() {
        let dir = std::env::temp_dir().join(format!("skiff-run-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("ok.wasm");
        std::fs::write(&good, b"\0asm\x01\0\0\0").unwrap();
        let bad = dir.join("notes.txt");
        std::fs::write(&bad, b"hello").unwrap();
        assert_eq!(
            resolve_image(good.to_str().unwrap()).unwrap(),
            std::fs::canonicalize(&good).unwrap().display().to_string()
        );
        let refused = resolve_image(bad.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(refused.contains("is not a WebAssembly binary"), "{refused}");
        assert_eq!(resolve_image("ghcr.io/x/y:1").unwrap(), "ghcr.io/x/y:1");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
