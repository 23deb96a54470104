//! Where the tunnel finds a container's log: [`ContainerLogs`]; [`RuntimeLogs`], its
//! implementation over the agent's runtime; and [`NodeLogs`], the agent's, which also reads
//! the log files an earlier agent process left on disk.

use skiff_runtime_wasm::logs::{LogConfig, LogFds, LogFile};
use skiff_runtime_wasm::{Runtime, RuntimeError};
use std::path::PathBuf;
use std::sync::Arc;

/// The header in which the API server names the pod's uid.
pub const POD_UID_HEADER: &str = "skiff-pod-uid";

/// Why a container's log cannot be served; worded as the kubelet words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogLookupError {
    #[error("pod \"{pod}\" names no pod uid (header {POD_UID_HEADER})")]
    NoUid { pod: String },
    #[error("container \"{container}\" in pod \"{pod}\" is waiting to start: {reason}")]
    Waiting {
        pod: String,
        container: String,
        reason: String,
    },
    #[error("previous terminated container \"{container}\" in pod \"{pod}\" not found")]
    NoPrevious { pod: String, container: String },
    #[error("reading the log of container \"{container}\" in pod \"{pod}\": {reason}")]
    Unreadable {
        pod: String,
        container: String,
        reason: String,
    },
}

impl LogLookupError {
    /// The HTTP status the kubelet answers with.
    pub fn status(&self) -> http::StatusCode {
        match self {
            LogLookupError::NoUid { .. }
            | LogLookupError::Waiting { .. }
            | LogLookupError::NoPrevious { .. } => http::StatusCode::BAD_REQUEST,
            LogLookupError::Unreadable { .. } => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A pod as a log request names it: the path's namespace and name, and the uid the API
/// server sends along (`Skiff-Pod-Uid`), which is the runtime sandbox's id.
#[derive(Debug, Clone, Copy)]
pub struct PodKey<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
}

/// The logs of the containers of the pods bound to this node.
pub trait ContainerLogs: Send + Sync {
    /// The log of `container` in `pod`: its current run, or (`previous`) the run before it.
    /// Only pods bound to this node are found.
    fn container_log(
        &self,
        pod: PodKey<'_>,
        container: &str,
        previous: bool,
    ) -> Result<LogFile, LogLookupError>;
}

/// [`ContainerLogs`] over the agent's runtime, whose pod sandboxes are keyed by pod uid (see
/// `translate`): it holds this node's pods only.
pub struct RuntimeLogs(pub Runtime);

impl ContainerLogs for RuntimeLogs {
    fn container_log(
        &self,
        pod: PodKey<'_>,
        container: &str,
        previous: bool,
    ) -> Result<LogFile, LogLookupError> {
        let found = if previous {
            self.0.previous_logs(pod.uid, container)
        } else {
            self.0.logs(pod.uid, container).map(Some)
        };
        let (name, container) = (pod.name.to_owned(), container.to_owned());
        match found {
            Ok(Some(log)) => Ok(log),
            Ok(None) => Err(LogLookupError::NoPrevious {
                pod: name,
                container,
            }),
            // The pod worker has not created the sandbox or the container yet (or the pod
            // has just been bound and its worker has not started).
            Err(RuntimeError::NoSuchPod(_) | RuntimeError::NoSuchContainer { .. }) => {
                Err(if previous {
                    LogLookupError::NoPrevious {
                        pod: name,
                        container,
                    }
                } else {
                    LogLookupError::Waiting {
                        pod: name,
                        container,
                        reason: "ContainerCreating".into(),
                    }
                })
            }
            Err(e) => Err(LogLookupError::Unreadable {
                pod: name,
                container,
                reason: e.to_string(),
            }),
        }
    }
}

/// The agent's [`ContainerLogs`]: the runtime's containers first; for a container the
/// runtime does not have (a finished pod that a restarted agent does not run again, or one
/// whose worker has not created it yet), the files under `<pods dir>/<uid>/` that an
/// earlier agent process wrote, as the kubelet reads `/var/log/pods` whatever happened to
/// the container.
pub struct NodeLogs {
    runtime: RuntimeLogs,
    pods_dir: PathBuf,
    fds: Arc<LogFds>,
}

impl NodeLogs {
    /// Logs of `rt`'s containers, and those left under `pods_dir`.
    pub fn new(rt: Runtime, pods_dir: PathBuf) -> NodeLogs {
        NodeLogs {
            runtime: RuntimeLogs(rt),
            pods_dir,
            fds: Arc::new(LogFds::new(1)),
        }
    }

    /// The log file left on disk for `container` of the pod with `uid`, if any. Only names
    /// made of a UID's and a container name's characters are looked up: nothing outside the
    /// pods directory can be named.
    fn on_disk(&self, uid: &str, container: &str, previous: bool) -> Option<LogFile> {
        let plain = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if !plain(uid) || !plain(container) {
            return None;
        }
        let suffix = if previous { "previous.log" } else { "log" };
        let file = format!("{container}.{suffix}");
        let pod_dir = self.pods_dir.join(uid);
        // `<uid>/<container>.log`; agents before 2026-12-06 wrote `<uid>/logs/<container>.log`.
        [pod_dir.join(&file), pod_dir.join("logs").join(&file)]
            .into_iter()
            .find_map(|path| {
                LogFile::left_on_disk(path, LogConfig::default(), self.fds.clone())
                    .ok()
                    .flatten()
            })
    }
}

impl ContainerLogs for NodeLogs {
    fn container_log(
        &self,
        pod: PodKey<'_>,
        container: &str,
        previous: bool,
    ) -> Result<LogFile, LogLookupError> {
        match self.runtime.container_log(pod, container, previous) {
            Err(refused @ (LogLookupError::Waiting { .. } | LogLookupError::NoPrevious { .. }))
                if self.runtime.0.pod_status(pod.uid).is_err() =>
            {
                self.on_disk(pod.uid, container, previous).ok_or(refused)
            }
            other => other,
        }
    }
}
