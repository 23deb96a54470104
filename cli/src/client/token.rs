//! `skiff token create --node [NAME]`: a credential for an agent to join as node NAME,
//! made through the Kubernetes API alone. As the server does when an agent joins with the
//! agent token, it is a random bearer token in the Secret `kube-system/node-token-<NAME>`
//! (type `skiff.io/node-token`), which the API server authenticates as `system:node:<NAME>`.
//! The output is the agent's credential file (node name, token, server URL, cluster CA),
//! used with `skiff agent --credential FILE`; creating it needs the right to create Secrets
//! in kube-system (an admin's).

use base64::Engine;
use clap::{Args, Subcommand};
use rand::RngCore;
use serde_json::json;

use super::failure::Failure;
use super::session::Session;

/// Where node credentials live, and their type (as the API server names them).
const TOKEN_NAMESPACE: &str = "kube-system";
const NODE_TOKEN_TYPE: &str = "skiff.io/node-token";

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a credential.
    Create(CreateArgs),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// A node credential for a joining agent; NAME defaults to `node-<random>`.
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "", required = true)]
    pub node: Option<String>,
    /// Write the credential here (default: print it on stdout).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

pub async fn run(session: &Session, command: &TokenCommand) -> Result<(), Failure> {
    let TokenCommand::Create(args) = command;
    let name = match args.node.as_deref() {
        Some("") | None => format!("node-{}", random_hex(3)),
        Some(name) => name.to_owned(),
    };
    let token = random_hex(32);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret", "type": NODE_TOKEN_TYPE,
        "metadata": {"name": format!("node-token-{name}"), "namespace": TOKEN_NAMESPACE,
                     "labels": {"skiff.io/node": name}},
        "data": {"token": b64(&token), "node-name": b64(&name)},
    });
    let path = format!("/api/v1/namespaces/{TOKEN_NAMESPACE}/secrets");
    session
        .call(http::Method::POST, &path, "application/json", &secret)
        .await?;
    let credential = json!({
        "nodeName": name, "token": token, "servers": [session.url], "caCert": cluster_ca(session)?,
    });
    let text = serde_json::to_string_pretty(&credential)
        .map_err(|e| Failure::Usage(format!("encoding the credential: {e}")))?;
    match &args.output {
        Some(file) => {
            write_secret_file(file, &text)?;
            eprintln!("node {name}: credential written to {}", file.display());
            eprintln!(
                "join with: skiff agent --credential {} --name {name}",
                file.display()
            );
        }
        None => println!("{text}"),
    }
    Ok(())
}

fn random_hex(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut raw);
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cluster CA (PEM) of the kubeconfig's cluster entry.
fn cluster_ca(session: &Session) -> Result<String, Failure> {
    session.ca_pem.clone().ok_or_else(|| {
        Failure::Config(format!(
            "{}: the cluster entry has no certificate-authority(-data); an agent needs the cluster CA",
            session.source
        ))
    })
}

fn write_secret_file(path: &std::path::Path, text: &str) -> Result<(), Failure> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Failure::Usage(format!("creating {}: {e}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Failure::Usage(format!("writing {}: {e}", path.display())))
}
