//! `skiff rollout status|restart|undo deployment/NAME`, as kubectl's: status follows the
//! Deployment with a live progress line until it has rolled out (kubectl's messages, decided
//! by [`progress`], which does no I/O); restart stamps the pod template with
//! `kubectl.kubernetes.io/restartedAt`; undo puts back the previous ReplicaSet's template
//! (`rollout_undo`).

use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::discovery;
use super::failure::Failure;
use super::session::Session;

#[derive(Subcommand, Debug)]
pub enum RolloutCommand {
    /// Wait until the rollout finishes, showing its progress.
    Status(RolloutTarget),
    /// Restart every pod by stamping the pod template.
    Restart(RolloutTarget),
    /// Roll back to the previous revision (or --to-revision).
    Undo(UndoArgs),
}

#[derive(Args, Debug)]
pub struct RolloutTarget {
    /// deployment/NAME.
    pub target: String,
    /// Give up after this many seconds (status only; 0: wait forever).
    #[arg(long, default_value_t = 0)]
    pub timeout: u64,
}

#[derive(Args, Debug)]
pub struct UndoArgs {
    /// deployment/NAME.
    pub target: String,
    /// The revision to go back to (default: the one before the current).
    #[arg(long, default_value_t = 0)]
    pub to_revision: u64,
}

pub async fn run(session: &Session, command: &RolloutCommand) -> Result<(), Failure> {
    match command {
        RolloutCommand::Status(t) => status(session, &t.target, t.timeout).await,
        RolloutCommand::Restart(t) => restart(session, &t.target).await,
        RolloutCommand::Undo(u) => {
            super::rollout_undo::run(session, &u.target, u.to_revision).await
        }
    }
}

/// The Deployment's path, after checking the type names a Deployment.
pub async fn deployment_path(session: &Session, target: &str) -> Result<(String, String), Failure> {
    let (kind, name) = discovery::split_type_name(target)?;
    let resource = discovery::resolve(session, kind).await?;
    if resource.kind != "Deployment" {
        return Err(Failure::Usage(format!(
            "no rollout support for {}: skiff rolls out deployments",
            resource.qualified()
        )));
    }
    Ok((
        resource.object_path(&session.namespace, name),
        name.to_owned(),
    ))
}

async fn restart(session: &Session, target: &str) -> Result<(), Failure> {
    let (path, name) = deployment_path(session, target).await?;
    let now = jiff::Timestamp::now().to_string();
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": now}}}}});
    session
        .call(
            http::Method::PATCH,
            &path,
            "application/merge-patch+json",
            &patch,
        )
        .await?;
    println!("deployment.apps/{name} restarted");
    Ok(())
}

async fn status(session: &Session, target: &str, timeout: u64) -> Result<(), Failure> {
    let (path, name) = deployment_path(session, target).await?;
    let line = indicatif::ProgressBar::new_spinner();
    line.enable_steady_tick(Duration::from_millis(120));
    let deadline = (timeout > 0).then(|| std::time::Instant::now() + Duration::from_secs(timeout));
    loop {
        let deployment = session.get_json(&path).await?;
        match progress(&deployment, &name) {
            Progress::Done(text) => {
                line.finish_and_clear();
                println!("{text}");
                return Ok(());
            }
            Progress::Failed(text) => {
                line.finish_and_clear();
                return Err(Failure::Usage(text));
            }
            Progress::Waiting(text) => line.set_message(text),
        }
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            line.finish_and_clear();
            return Err(Failure::Usage("timed out waiting for the condition".into()));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Where a rollout stands.
#[derive(Debug, PartialEq)]
pub enum Progress {
    Waiting(String),
    Done(String),
    Failed(String),
}

/// kubectl's `DeploymentStatusViewer`: the same checks in the same order, the same words.
pub fn progress(deployment: &Value, name: &str) -> Progress {
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    let (spec, status) = (&deployment["spec"], &deployment["status"]);
    if int(&deployment["metadata"]["generation"]) > int(&status["observedGeneration"]) {
        return Progress::Waiting("Waiting for deployment spec update to be observed...".into());
    }
    let deadline_hit = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded");
    if deadline_hit {
        return Progress::Failed(format!(
            "deployment \"{name}\" exceeded its progress deadline"
        ));
    }
    let wanted = spec["replicas"].as_i64().unwrap_or(1);
    let updated = int(&status["updatedReplicas"]);
    let replicas = int(&status["replicas"]);
    let available = int(&status["availableReplicas"]);
    let prefix = format!("Waiting for deployment \"{name}\" rollout to finish:");
    if updated < wanted {
        return Progress::Waiting(format!(
            "{prefix} {updated} out of {wanted} new replicas have been updated..."
        ));
    }
    if replicas > updated {
        return Progress::Waiting(format!(
            "{prefix} {} old replicas are pending termination...",
            replicas - updated
        ));
    }
    if available < updated {
        return Progress::Waiting(format!(
            "{prefix} {available} of {updated} updated replicas are available..."
        ));
    }
    Progress::Done(format!("deployment \"{name}\" successfully rolled out"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_as_kubectl() {
        let d = |generation: i64, observed: i64, want: i64, upd: i64, reps: i64, avail: i64| {
            json!({"metadata": {"generation": generation}, "spec": {"replicas": want},
                   "status": {"observedGeneration": observed, "updatedReplicas": upd,
                              "replicas": reps, "availableReplicas": avail}})
        };
        let wait = "Waiting for deployment \"web\" rollout to finish:";
        let cases = [
            (
                d(2, 1, 3, 3, 3, 3),
                Progress::Waiting("Waiting for deployment spec update to be observed...".into()),
            ),
            (
                d(2, 2, 3, 1, 4, 3),
                Progress::Waiting(format!(
                    "{wait} 1 out of 3 new replicas have been updated..."
                )),
            ),
            (
                d(2, 2, 3, 3, 4, 3),
                Progress::Waiting(format!("{wait} 1 old replicas are pending termination...")),
            ),
            (
                d(2, 2, 3, 3, 3, 2),
                Progress::Waiting(format!("{wait} 2 of 3 updated replicas are available...")),
            ),
            (
                d(2, 2, 3, 3, 3, 3),
                Progress::Done("deployment \"web\" successfully rolled out".into()),
            ),
        ];
        for (deployment, want) in cases {
            assert_eq!(progress(&deployment, "web"), want, "{deployment}");
        }
        let stuck = json!({"status": {"conditions": [
            {"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]}});
        assert!(matches!(progress(&stuck, "web"), Progress::Failed(_)));
    }
}
