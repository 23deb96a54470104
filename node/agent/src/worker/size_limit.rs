//! `emptyDir.sizeLimit`, enforced as the kubelet's eviction manager does
//! (`localStorageEviction`): every [`CHECK_EVERY`] the worker measures each limited emptyDir
//! (what `du` counts: allocated blocks, symlinks not followed) and, once one holds more than
//! its limit, evicts the pod with grace 0: its containers are killed, it fails with reason
//! `Evicted`, the kubelet's message and a `DisruptionTarget` condition, and its volumes are
//! emptied so a Memory emptyDir gives its RAM back. A pod on a shared tmpfs root cannot get a
//! tmpfs sized to its limit as the kubelet mounts one; this bounds it the same way the kubelet
//! bounds disk emptyDirs.

use super::run::Worker;
use crate::translate::{self, PodFacts};
use skiff_api::k8s_openapi::api::core::v1::Pod;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often limited emptyDirs are measured (the kubelet's eviction monitoring period).
pub(super) const CHECK_EVERY: Duration = Duration::from_secs(10);

/// One emptyDir with a `sizeLimit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SizeLimit {
    pub volume: String,
    pub dir: PathBuf,
    pub bytes: u64,
    /// The limit as the spec wrote it, for the message.
    pub shown: String,
}

/// The emptyDir volumes of `pod` with a positive `sizeLimit`, and their directories.
pub(super) fn size_limits(pod: &Pod, facts: &PodFacts) -> Vec<SizeLimit> {
    let volumes = pod.spec.iter().flat_map(|s| s.volumes.iter().flatten());
    volumes
        .filter_map(|volume| {
            let limit = volume.empty_dir.as_ref()?.size_limit.as_ref()?;
            let bytes = translate::parse_milli(&limit.0)?.div_euclid(1000);
            let bytes = u64::try_from(bytes).ok().filter(|b| *b > 0)?;
            Some(SizeLimit {
                volume: volume.name.clone(),
                dir: translate::volume_dir(facts, volume),
                bytes,
                shown: limit.0.clone(),
            })
        })
        .collect()
}

/// The kubelet's eviction message for the first volume over its limit, given each volume's
/// usage in bytes.
pub(super) fn first_over(limits: &[SizeLimit], usage: impl Fn(&Path) -> u64) -> Option<String> {
    let over = limits.iter().find(|l| usage(&l.dir) > l.bytes)?;
    Some(format!(
        "Usage of EmptyDir volume {:?} exceeds the limit {:?}. ",
        over.volume, over.shown
    ))
}

/// Bytes allocated under `dir` (`du`): blocks of files and directories, symlinks not followed;
/// 0 for a directory that does not exist.
pub(super) fn disk_usage(dir: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return 0;
    };
    let mut total = meta.blocks().saturating_mul(512);
    if meta.is_dir()
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        for entry in entries.flatten() {
            total = total.saturating_add(disk_usage(&entry.path()));
        }
    }
    total
}

impl Worker {
    /// Measures the limited emptyDirs (off the async threads) and evicts the pod when one is
    /// over its limit.
    pub(super) async fn check_size_limits(&mut self) {
        let limits = self.size_limits.clone();
        if limits.is_empty() || self.snap.evicted.is_some() {
            return;
        }
        let over = tokio::task::spawn_blocking(move || first_over(&limits, disk_usage)).await;
        if let Ok(Some(message)) = over {
            Box::pin(self.evict(message)).await;
        }
    }

    /// The kubelet's eviction with grace 0: kill the containers, fail the pod, empty its
    /// volumes.
    async fn evict(&mut self, message: String) {
        tracing::info!(pod = %self.facts.sandbox_id, %message, "evicting the pod");
        self.emit_pod(
            super::events::EventType::Warning,
            "Evicted",
            message.clone(),
            None,
        );
        self.snap.evicted = Some(message);
        self.stop_containers(Duration::ZERO).await;
        // The pod's copy on the memory root too: after an ENOSPC fallback the facts point to
        // disk, yet running containers kept the tmpfs copy.
        let dirs: Vec<PathBuf> = [
            translate::disk_volumes_dir(&self.facts.pod_dir),
            self.facts.memory_volumes_dir.clone(),
        ]
        .into_iter()
        .chain(self.memory_root_dir())
        .collect();
        let emptied = tokio::task::spawn_blocking(move || {
            for dir in dirs {
                if let Err(e) = std::fs::remove_dir_all(&dir)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!(dir = %dir.display(), error = %e, "emptying an evicted pod's volumes");
                }
            }
        });
        if let Err(e) = emptied.await {
            tracing::warn!(error = %e, "emptying an evicted pod's volumes did not finish");
        }
        self.publish();
    }
}

#[cfg(test)]
mod tests;
