//! The pod's files and its end: writing the volume directories and files before the
//! containers start, and the teardown that stops the containers and removes the sandbox
//! and the pod's directory.

use super::WorkerError;
use super::run::Worker;
use crate::translate::VolumeFiles;
use futures::{FutureExt, StreamExt};
use std::time::Duration;

impl Worker {
    /// Writes the volume files once they resolve (again after they changed); until then
    /// containers wait. All of it runs in one blocking task: a pod's few small files are
    /// cheaper written together than one blocking-pool hop per directory, write and rename.
    pub(super) async fn ensure_volumes(&mut self) -> Result<bool, WorkerError> {
        if self.volumes_ready {
            return Ok(true);
        }
        let Ok(files) = &self.plan.volumes else {
            return Ok(false);
        };
        let files = files.clone();
        match tokio::task::spawn_blocking(move || write_volume_files(&files)).await {
            Ok(written) => written?,
            // A panic in the writer, or the blocking pool shut down with the agent: the
            // containers keep waiting, and the next pass writes again.
            Err(e) => {
                tracing::warn!(error = %e, "writing the pod's volume files did not finish");
                return Ok(false);
            }
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

/// Makes the volume directories and writes each file beside its path, then renames it over,
/// so a running guest never reads half a file.
fn write_volume_files(files: &VolumeFiles) -> Result<(), WorkerError> {
    let failed = |action, path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| WorkerError::Files {
            action,
            path,
            source,
        }
    };
    for dir in &files.dirs {
        std::fs::create_dir_all(dir).map_err(failed("creating volume directory", dir))?;
    }
    for file in &files.files {
        if let Some(parent) = file.path.parent()
            && !files.dirs.iter().any(|d| d == parent)
        {
            std::fs::create_dir_all(parent).map_err(failed("creating volume directory", parent))?;
        }
        let mut partial = file.path.clone().into_os_string();
        partial.push(".skiff-partial");
        std::fs::write(&partial, &file.contents)
            .and_then(|()| std::fs::rename(&partial, &file.path))
            .map_err(failed("writing volume file", &file.path))?;
    }
    Ok(())
}
