//! The pod's files and its end: writing the volume directories and files before the
//! containers start, and the teardown that stops the containers and removes the sandbox
//! and the pod's directory.

use super::WorkerError;
use super::run::Worker;
use futures::{FutureExt, StreamExt};
use std::time::Duration;

impl Worker {
    /// Writes the volume files once they resolve (again after they changed); until then
    /// containers wait.
    pub(super) async fn ensure_volumes(&mut self) -> Result<bool, WorkerError> {
        if self.volumes_ready {
            return Ok(true);
        }
        let Ok(files) = &self.plan.volumes else {
            return Ok(false);
        };
        for dir in &files.dirs {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|source| WorkerError::Files {
                    action: "creating volume directory",
                    path: dir.clone(),
                    source,
                })?;
        }
        for file in &files.files {
            if let Some(parent) = file.path.parent() {
                let _ = tokio::fs::create_dir_all(parent).await;
            }
            // Written beside and renamed over, so a running guest never reads half a file.
            let mut partial = file.path.clone().into_os_string();
            partial.push(".skiff-partial");
            let written = match tokio::fs::write(&partial, &file.contents).await {
                Ok(()) => tokio::fs::rename(&partial, &file.path).await,
                Err(e) => Err(e),
            };
            written.map_err(|source| WorkerError::Files {
                action: "writing volume file",
                path: file.path.clone(),
                source,
            })?;
        }
        self.volumes_ready = true;
        Ok(true)
    }

    /// Stops every container within `grace`, reports how they ended, removes the sandbox
    /// and (`remove_dir`) the pod's directory.
    pub(super) async fn teardown(&mut self, grace: Duration, remove_dir: bool) {
        let sandbox = self.facts.sandbox_id.clone();
        let running: Vec<String> = self
            .snap
            .containers
            .iter()
            .filter(|c| matches!(c.state, crate::status::State::Running { .. }))
            .map(|c| c.name.clone())
            .collect();
        for name in running {
            let path = Some(format!("spec.containers{{{name}}}"));
            let message = format!("Stopping container {name}");
            self.emit_pod(super::events::EventType::Normal, "Killing", message, path);
        }
        if let Err(e) = self.rt.stop_pod(&sandbox, grace).await {
            tracing::debug!(%sandbox, error = %e, "stopping pod");
        }
        while let Some(Some((which, reason))) = self.waits.next().now_or_never() {
            self.record_exit(which, reason);
        }
        self.publish();
        self.waits.clear();
        self.chores.clear();
        if let Err(e) = self.rt.remove_pod(&sandbox).await {
            tracing::debug!(%sandbox, error = %e, "removing pod");
        }
        if remove_dir
            && let Err(e) = tokio::fs::remove_dir_all(&self.facts.pod_dir).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %self.facts.pod_dir.display(), error = %e, "removing pod directory");
        }
    }
}
