//! Pod and container lifecycle operations of [`Runtime`]: create, start, stop, wait,
//! status, logs, remove, shutdown.

use super::container::{ContainerEntry, RunTokens};
use super::{PodEntry, Runtime, wasi};
use crate::error::RuntimeError;
use crate::logs::LogFile;
use crate::network::PodRef;
use crate::spec::{ContainerSpec, ContainerState, ContainerStatus, PodSpec, TerminationReason};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

impl Runtime {
    /// Creates a pod sandbox (its network identity and log directory).
    pub fn create_pod(&self, spec: PodSpec) -> Result<(), RuntimeError> {
        std::fs::create_dir_all(&spec.log_dir)?;
        let mut pods = self.pods();
        if pods.contains_key(&spec.id) {
            return Err(RuntimeError::PodExists(spec.id));
        }
        let pod = PodRef {
            ip: spec.ip,
            namespace: spec.namespace.as_str().into(),
        };
        pods.insert(
            spec.id.clone(),
            PodEntry {
                spec,
                created: SystemTime::now(),
                pod,
                containers: HashMap::new(),
            },
        );
        Ok(())
    }

    pub(super) fn container(
        &self,
        pod: &str,
        name: &str,
    ) -> Result<(PodRef, Arc<ContainerEntry>), RuntimeError> {
        let pods = self.pods();
        let p = pods
            .get(pod)
            .ok_or_else(|| RuntimeError::NoSuchPod(pod.to_owned()))?;
        let c = p
            .containers
            .get(name)
            .ok_or_else(|| RuntimeError::NoSuchContainer {
                pod: pod.to_owned(),
                container: name.to_owned(),
            })?;
        Ok((p.pod.clone(), c.clone()))
    }

    /// Creates a container: pulls and prepares its image. Bad images fail here, clearly,
    /// and nothing else is affected.
    pub async fn create_container(
        &self,
        pod: &str,
        spec: ContainerSpec,
    ) -> Result<ContainerStatus, RuntimeError> {
        let log_dir = {
            let pods = self.pods();
            let p = pods
                .get(pod)
                .ok_or_else(|| RuntimeError::NoSuchPod(pod.to_owned()))?;
            if p.containers.contains_key(&spec.name) {
                return Err(RuntimeError::ContainerExists {
                    pod: pod.to_owned(),
                    container: spec.name,
                });
            }
            p.spec.log_dir.clone()
        };
        let (image, prepared) = self
            .prepare_with(&spec.image, spec.pull_auth.as_ref(), spec.kind)
            .await?;
        let log_path = log_dir.join(format!("{}.log", spec.name));
        let earlier = self.earlier_log(&log_path);
        let log = LogFile::create_in(log_path, self.0.cfg.logs, self.0.log_fds.clone())?;
        let entry = Arc::new(ContainerEntry::new(spec, image.digest, prepared, log));
        *skiff_sync::lock(&entry.previous_log) = earlier;
        let status = entry.status();
        let mut pods = self.pods();
        let p = pods
            .get_mut(pod)
            .ok_or_else(|| RuntimeError::NoSuchPod(pod.to_owned()))?;
        if p.containers.contains_key(&status.name) {
            return Err(RuntimeError::ContainerExists {
                pod: pod.to_owned(),
                container: status.name,
            });
        }
        p.containers.insert(status.name.clone(), entry);
        Ok(status)
    }

    /// The log an earlier process left at `path` for this container (a restarted node
    /// agent creates its containers again): moved aside as the previous run's log, so the new
    /// run starts an empty one and `--previous` shows the old output. With no current log
    /// there, the previous run's log left on disk, if any.
    fn earlier_log(&self, path: &std::path::Path) -> Option<LogFile> {
        let (cfg, fds) = (self.0.cfg.logs, self.0.log_fds.clone());
        let previous = path.with_extension("previous.log");
        let found = match LogFile::left_on_disk(path, cfg, fds.clone()) {
            Ok(Some(old)) => old.retire(&previous).map(Some),
            Ok(None) => LogFile::left_on_disk(&previous, cfg, fds),
            Err(e) => Err(e),
        };
        found
            .inspect_err(|e| tracing::warn!(path = %path.display(), "reading the log an earlier run left: {e}"))
            .ok()
            .flatten()
    }

    /// Starts (or restarts, after it terminated) a container.
    pub async fn start_container(&self, pod: &str, name: &str) -> Result<(), RuntimeError> {
        let (pod_ref, entry) = self.container(pod, name)?;
        if entry.is_running() {
            return Err(RuntimeError::ContainerExists {
                pod: pod.to_owned(),
                container: name.to_owned(),
            });
        }
        if matches!(*entry.state.borrow(), ContainerState::Terminated { .. }) {
            // Keep the previous run's log beside the new one, for `kubectl logs --previous`.
            let old = entry.log();
            let previous = match old.retire(old.path().with_extension("previous.log")) {
                Ok(previous) => Some(previous),
                Err(e) => {
                    tracing::warn!(path = %old.path().display(), "keeping the previous run's log failed: {e}");
                    None
                }
            };
            *skiff_sync::lock(&entry.previous_log) = previous;
            *skiff_sync::lock(&entry.log) =
                LogFile::create_in(old.path(), self.0.cfg.logs, self.0.log_fds.clone())?;
        }
        let tokens = RunTokens::default();
        let work = wasi::workload(self.0.clone(), pod_ref, &entry, tokens.clone())?;
        entry.state.send_replace(ContainerState::Running {
            started_at: SystemTime::now(),
        });
        entry
            .starts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let task_entry = entry.clone();
        let log = entry.log();
        let kill = tokens.kill.clone();
        let handle = self.0.guest_handle.spawn(async move {
            let reason = tokio::select! {
                r = work => r,
                () = kill.cancelled() => TerminationReason::Interrupted,
            };
            // Waiters first; the log line after.
            task_entry.terminated(&log, reason.clone());
            tracing::info!(container = %task_entry.spec.name, ?reason, "container terminated");
        });
        *skiff_sync::lock(&entry.run) = Some((tokens, handle));
        Ok(())
    }

    /// Stops a container: graceful for `grace`, then the guest is cancelled.
    pub async fn stop_container(
        &self,
        pod: &str,
        name: &str,
        grace: Duration,
    ) -> Result<ContainerStatus, RuntimeError> {
        let (_, entry) = self.container(pod, name)?;
        entry.stop(grace).await;
        Ok(entry.status())
    }

    /// Waits until a container terminates and returns why.
    pub async fn wait_container(
        &self,
        pod: &str,
        name: &str,
    ) -> Result<TerminationReason, RuntimeError> {
        let (_, entry) = self.container(pod, name)?;
        Ok(entry.wait().await)
    }

    pub fn container_status(&self, pod: &str, name: &str) -> Result<ContainerStatus, RuntimeError> {
        Ok(self.container(pod, name)?.1.status())
    }

    /// Statuses of every container of a pod.
    pub fn pod_status(&self, pod: &str) -> Result<Vec<ContainerStatus>, RuntimeError> {
        let pods = self.pods();
        let p = pods
            .get(pod)
            .ok_or_else(|| RuntimeError::NoSuchPod(pod.to_owned()))?;
        Ok(p.containers.values().map(|c| c.status()).collect())
    }

    /// The container's current log (read whole with `entries` or `read_all`, follow with
    /// `follow` or `entries_and_follow`).
    pub fn logs(&self, pod: &str, name: &str) -> Result<LogFile, RuntimeError> {
        Ok(self.container(pod, name)?.1.log())
    }

    /// The log of the container's previous run, if it was restarted (finished: following
    /// it ends at once).
    pub fn previous_logs(&self, pod: &str, name: &str) -> Result<Option<LogFile>, RuntimeError> {
        let (_, entry) = self.container(pod, name)?;
        Ok(skiff_sync::lock(&entry.previous_log).clone())
    }

    /// Stops (grace 0) and forgets a container.
    pub async fn remove_container(&self, pod: &str, name: &str) -> Result<(), RuntimeError> {
        let (_, entry) = self.container(pod, name)?;
        entry.stop(Duration::ZERO).await;
        if let Some(p) = self.pods().get_mut(pod) {
            p.containers.remove(name);
        }
        Ok(())
    }

    /// Stops every container of a pod, each with `grace`, concurrently.
    pub async fn stop_pod(&self, pod: &str, grace: Duration) -> Result<(), RuntimeError> {
        let entries: Vec<_> = {
            let pods = self.pods();
            let p = pods
                .get(pod)
                .ok_or_else(|| RuntimeError::NoSuchPod(pod.to_owned()))?;
            p.containers.values().cloned().collect()
        };
        futures::future::join_all(entries.iter().map(|e| e.stop(grace))).await;
        Ok(())
    }

    /// Stops and removes a pod sandbox; its addresses leave the overlay.
    pub async fn remove_pod(&self, pod: &str) -> Result<(), RuntimeError> {
        self.stop_pod(pod, Duration::ZERO).await?;
        if let Some(p) = self.pods().remove(pod) {
            self.0.net.remove_pod(&p.pod);
        }
        Ok(())
    }

    /// Stops every pod (grace each) and removes them.
    pub async fn shutdown(&self, grace: Duration) {
        let ids: Vec<String> = self.pods().keys().cloned().collect();
        futures::future::join_all(ids.iter().map(|id| self.stop_pod(id, grace))).await;
        for id in ids {
            let _ = self.remove_pod(&id).await;
        }
    }
}
