//! Where the tunnel finds a container's log: [`ContainerLogs`], implemented by the agent
//! over its runtime, and [`RuntimeLogs`], that implementation given the agent's map from
//! (namespace, pod name) to the runtime's pod sandbox id.

use skiff_runtime_wasm::logs::LogFile;
use skiff_runtime_wasm::{Runtime, RuntimeError};

/// Why a container's log cannot be served; worded as the kubelet words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogLookupError {
    #[error("pod \"{pod}\" does not exist")]
    NoPod { pod: String },
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
            LogLookupError::NoPod { .. } => http::StatusCode::NOT_FOUND,
            LogLookupError::Waiting { .. } | LogLookupError::NoPrevious { .. } => {
                http::StatusCode::BAD_REQUEST
            }
            LogLookupError::Unreadable { .. } => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The logs of the containers of the pods bound to this node.
pub trait ContainerLogs: Send + Sync {
    /// The log of `container` in pod `namespace/pod`: its current run, or (`previous`) the
    /// run before it. Only pods bound to this node are found.
    fn container_log(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        previous: bool,
    ) -> Result<LogFile, LogLookupError>;
}

/// [`ContainerLogs`] over a runtime: `sandbox_of(namespace, pod)` names the runtime pod
/// sandbox of a pod bound to this node (the agent's pod manager knows it), `None` for any
/// other pod.
pub struct RuntimeLogs<F> {
    pub runtime: Runtime,
    pub sandbox_of: F,
}

impl<F> ContainerLogs for RuntimeLogs<F>
where
    F: Fn(&str, &str) -> Option<String> + Send + Sync,
{
    fn container_log(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        previous: bool,
    ) -> Result<LogFile, LogLookupError> {
        let Some(sandbox) = (self.sandbox_of)(namespace, pod) else {
            return Err(LogLookupError::NoPod { pod: pod.into() });
        };
        let found = if previous {
            self.runtime.previous_logs(&sandbox, container)
        } else {
            self.runtime.logs(&sandbox, container).map(Some)
        };
        match found {
            Ok(Some(log)) => Ok(log),
            Ok(None) => Err(LogLookupError::NoPrevious {
                pod: pod.into(),
                container: container.into(),
            }),
            // The pod worker has not created the sandbox or the container yet.
            Err(RuntimeError::NoSuchPod(_) | RuntimeError::NoSuchContainer { .. }) => {
                Err(if previous {
                    LogLookupError::NoPrevious {
                        pod: pod.into(),
                        container: container.into(),
                    }
                } else {
                    LogLookupError::Waiting {
                        pod: pod.into(),
                        container: container.into(),
                        reason: "ContainerCreating".into(),
                    }
                })
            }
            Err(e) => Err(LogLookupError::Unreadable {
                pod: pod.into(),
                container: container.into(),
                reason: e.to_string(),
            }),
        }
    }
}
