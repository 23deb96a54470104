//! `skiff apply -f FILE|DIR|-`: server-side apply of every object read, with field manager
//! `skiff` (`--force-conflicts` takes fields other managers own), printed as kubectl's
//! `--server-side` prints it (`deployment.apps/web serverside-applied`).

use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use super::discovery;
use super::failure::Failure;
use super::get::encode;
use super::manifests::{self, Manifest};
use super::session::Session;

/// The field manager skiff's CLI applies as.
pub const FIELD_MANAGER: &str = "skiff";

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// Files, folders or `-` (stdin) holding the objects to apply.
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<PathBuf>,
    /// Take ownership of fields other field managers set.
    #[arg(long)]
    pub force_conflicts: bool,
}

pub async fn run(session: &Session, args: &ApplyArgs) -> Result<(), Failure> {
    let read = manifests::read_all(&args.files)?;
    let served = discovery::served(session).await?;
    let mut failed = None;
    for manifest in &read {
        match apply_one(session, &served, manifest, args.force_conflicts).await {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("{e}");
                failed = Some(e);
            }
        }
    }
    match failed {
        // Each failure was printed as it happened; the last one decides the exit code.
        Some(_) => Err(Failure::Reported),
        None => Ok(()),
    }
}

/// Applies one object; the line kubectl would print for it.
pub async fn apply_one(
    session: &Session,
    served: &[discovery::Resource],
    manifest: &Manifest,
    force: bool,
) -> Result<String, Failure> {
    let resource = manifest.resource(served)?;
    let namespace = manifest.namespace().unwrap_or(&session.namespace);
    let path = format!(
        "{}?fieldManager={}&force={force}",
        resource.object_path(namespace, &encode(manifest.name())),
        FIELD_MANAGER
    );
    let object: Value = manifest.object.clone();
    session
        .call(
            http::Method::PATCH,
            &path,
            "application/apply-patch+yaml",
            &object,
        )
        .await?;
    Ok(format!(
        "{} serverside-applied",
        resource.object_name(manifest.name())
    ))
}
