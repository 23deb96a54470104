//! `skiff scale TYPE/NAME --replicas N` (or `TYPE NAME`): a merge patch of the object's
//! `/scale` subresource, printed as kubectl prints it (`deployment.apps/web scaled`).

use clap::Args;
use serde_json::json;

use super::discovery;
use super::failure::Failure;
use super::session::Session;

#[derive(Args, Debug)]
pub struct ScaleArgs {
    /// TYPE/NAME, or TYPE then NAME.
    #[arg(required = true, num_args = 1..=2)]
    pub target: Vec<String>,
    /// The new number of replicas.
    #[arg(long)]
    pub replicas: u32,
}

pub async fn run(session: &Session, args: &ScaleArgs) -> Result<(), Failure> {
    let (kind, name) = match args.target.as_slice() {
        [one] => discovery::split_type_name(one)?,
        [kind, name] => (kind.as_str(), name.as_str()),
        _ => return Err(Failure::Usage("expected TYPE/NAME".into())),
    };
    let resource = discovery::resolve(session, kind).await?;
    let path = format!("{}/scale", resource.object_path(&session.namespace, name));
    let patch = json!({"spec": {"replicas": args.replicas}});
    session
        .call(
            http::Method::PATCH,
            &path,
            "application/merge-patch+json",
            &patch,
        )
        .await?;
    println!("{} scaled", resource.object_name(name));
    Ok(())
}
