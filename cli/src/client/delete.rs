//! `skiff delete TYPE NAME...` and `skiff delete -f FILE`: deletes with background
//! propagation (kubectl's default) and prints `deployment.apps "web" deleted`, as kubectl
//! does.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::discovery::{self, Resource};
use super::failure::Failure;
use super::manifests;
use super::session::Session;

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// The resource type, then the names (or TYPE/NAME pairs).
    pub args: Vec<String>,
    /// Delete the objects these files, folders or `-` describe.
    #[arg(short = 'f', long = "filename")]
    pub files: Vec<PathBuf>,
    /// Treat a missing object as deleted.
    #[arg(long)]
    pub ignore_not_found: bool,
}

pub async fn run(session: &Session, args: &DeleteArgs) -> Result<(), Failure> {
    let served = discovery::served(session).await?;
    let targets = targets(session, &served, args)?;
    let mut failed = false;
    for (resource, namespace, name) in targets {
        match delete_one(session, &resource, &namespace, &name).await {
            Ok(()) => println!("{} \"{name}\" deleted", resource.kind_group()),
            Err(e) if e.is_not_found() && args.ignore_not_found => {}
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    if failed {
        return Err(Failure::Reported);
    }
    Ok(())
}

type Target = (Resource, String, String);

fn targets(
    session: &Session,
    served: &[Resource],
    args: &DeleteArgs,
) -> Result<Vec<Target>, Failure> {
    if !args.files.is_empty() {
        let read = manifests::read_all(&args.files)?;
        return read
            .iter()
            .map(|m| {
                let ns = m.namespace().unwrap_or(&session.namespace).to_owned();
                Ok((m.resource(served)?, ns, m.name().to_owned()))
            })
            .collect();
    }
    let ns = session.namespace.clone();
    match args.args.as_slice() {
        [] => Err(Failure::Usage(
            "You must provide one or more resources by argument or filename.".into(),
        )),
        [first, ..] if first.contains('/') => args
            .args
            .iter()
            .map(|arg| {
                let (kind, name) = discovery::split_type_name(arg)?;
                Ok((discovery::pick(served, kind)?, ns.clone(), name.to_owned()))
            })
            .collect(),
        [_] => Err(Failure::Usage(
            "resource(s) were provided, but no name was specified".into(),
        )),
        [kind, names @ ..] => {
            let resource = discovery::pick(served, kind)?;
            Ok(names
                .iter()
                .map(|n| (resource.clone(), ns.clone(), n.clone()))
                .collect())
        }
    }
}

async fn delete_one(
    session: &Session,
    resource: &Resource,
    namespace: &str,
    name: &str,
) -> Result<(), Failure> {
    let path = resource.object_path(namespace, name);
    let options =
        json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"});
    session
        .call(http::Method::DELETE, &path, "application/json", &options)
        .await?;
    Ok(())
}
