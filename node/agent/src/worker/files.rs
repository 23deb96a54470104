//! The pod's files and its end: writing the volume directories and files before the
//! containers start (in place the first time, beside and renamed over on updates; on disk
//! when the tmpfs is full), and the teardown that stops the containers and removes the
//! sandbox and the pod's directories (on disk and in the memory root).

use super::WorkerError;
use super::run::Worker;
use crate::translate::{self, VolumeFiles};
use futures::{FutureExt, StreamExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

impl Worker {
    /// Writes the volume files once they resolve (again after they changed); until then
    /// containers wait. All of it runs in one blocking task: a pod's few small files are
    /// cheaper written together than one blocking-pool hop per directory, write and rename.
    /// A full tmpfs moves the pod's memory volumes to its disk directory (with a warning):
    /// never an error that holds the pod.
    pub(super) async fn ensure_volumes(&mut self) -> Result<bool, WorkerError> {
        if self.volumes_ready {
            return Ok(true);
        }
        // Before the first write no guest of this worker runs: each file is written in place.
        let mut how = if self.volumes_written {
            WriteMode::Replace
        } else {
            WriteMode::InPlace
        };
        loop {
            let Ok(files) = &self.plan.volumes else {
                return Ok(false);
            };
            let files = files.clone();
            let written =
                match tokio::task::spawn_blocking(move || write_volume_files(&files, how)).await {
                    Ok(written) => written,
                    // A panic in the writer, or the blocking pool shut down with the agent: the
                    // containers keep waiting, and the next pass writes again.
                    Err(e) => {
                        tracing::warn!(error = %e, "writing the pod's volume files did not finish");
                        return Ok(false);
                    }
                };
            match written {
                Ok(()) => break,
                Err(e) if e.is_storage_full() && self.volumes_in_memory() => {
                    self.move_volumes_to_disk(&e).await;
                    // No running guest has the new directory mounted.
                    how = WriteMode::InPlace;
                }
                Err(e) => return Err(e),
            }
        }
        self.volumes_ready = true;
        self.volumes_written = true;
        Ok(true)
    }

    /// Whether the memory volumes live apart from the pod's disk directory (on the tmpfs).
    fn volumes_in_memory(&self) -> bool {
        self.facts.memory_volumes_dir != crate::translate::disk_volumes_dir(&self.facts.pod_dir)
    }

    /// The pod's directory under the node's memory root, if the node has one.
    pub(super) fn memory_root_dir(&self) -> Option<PathBuf> {
        let root = self.cfg.volumes_root.as_ref()?;
        Some(root.join(&self.facts.sandbox_id))
    }

    /// The tmpfs is full: this pod's memory volumes go to `<pod dir>/volumes` from now on.
    /// Containers started later mount them there; running ones keep what they mounted.
    async fn move_volumes_to_disk(&mut self, full: &WorkerError) {
        let disk = crate::translate::disk_volumes_dir(&self.facts.pod_dir);
        tracing::warn!(
            pod = %self.facts.sandbox_id, error = %full, dir = %disk.display(),
            "the volumes' tmpfs is full: this pod's volumes are kept on disk"
        );
        if !self.volumes_written
            && let Some(dir) = self.memory_root_dir()
        {
            // Nothing reads the half-written directory: give its space back.
            let _ = tokio::fs::remove_dir_all(dir).await;
        }
        self.facts.memory_volumes_dir = disk;
        self.plan = translate::plan_pod(&self.desired.pod, &self.desired.refs, &self.facts);
    }

    /// Stops every container within `grace`, reports how they ended, removes the sandbox
    /// and (`remove_dir`) the pod's directory.
    pub(super) async fn teardown(&mut self, grace: Duration, remove_dir: bool) {
        let sandbox = self.facts.sandbox_id.clone();
        self.stop_containers(grace).await;
        if let Err(e) = self.rt.remove_pod(&sandbox).await {
            tracing::debug!(%sandbox, error = %e, "removing pod");
        }
        if remove_dir {
            let dirs: Vec<PathBuf> = std::iter::once(self.facts.pod_dir.clone())
                .chain(self.memory_root_dir())
                .collect();
            if let Err(e) = tokio::task::spawn_blocking(move || remove_pod_dirs(&dirs)).await {
                tracing::warn!(error = %e, "removing the pod's directories did not finish");
            }
        }
    }

    /// Stops every container of the pod within `grace` (a Killing event for each running
    /// one), records their ends and publishes them; the sandbox stays.
    pub(super) async fn stop_containers(&mut self, grace: Duration) {
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
    }
}

/// How the volume files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WriteMode {
    /// Straight to each file's path: no guest reads the directory yet.
    InPlace,
    /// Beside each file, then renamed over it, so a running guest never reads half a file.
    Replace,
}

/// Makes the volume directories and writes each file as `how` says.
pub(super) fn write_volume_files(files: &VolumeFiles, how: WriteMode) -> Result<(), WorkerError> {
    let failed = |action, path: &Path| {
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
        let written = match how {
            WriteMode::InPlace => std::fs::write(&file.path, &file.contents),
            WriteMode::Replace => {
                let mut partial = file.path.clone().into_os_string();
                partial.push(".skiff-partial");
                std::fs::write(&partial, &file.contents)
                    .and_then(|()| std::fs::rename(&partial, &file.path))
            }
        };
        written.map_err(failed("writing volume file", &file.path))?;
    }
    Ok(())
}

/// Removes each of `dirs` with everything in it (a missing one is fine).
fn remove_pod_dirs(dirs: &[PathBuf]) {
    for dir in dirs {
        if let Err(e) = std::fs::remove_dir_all(dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %dir.display(), error = %e, "removing pod directory");
        }
    }
}

#[cfg(test)]
mod tests;
