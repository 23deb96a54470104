//! The manager's errors: [`ManagerError`] ends [`crate::run`]; [`Error`] fails one reconcile,
//! which its controller's `error_policy` retries with back-off.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kube::runtime::controller::Action;

use crate::metrics::Metrics;

/// Why [`crate::run`] stopped other than by its shutdown token.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// A controller or cache task panicked.
    #[error("the controller manager's task {what} panicked")]
    TaskPanicked { what: String },
}

/// Why one reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object cannot be decided on (missing name, bad selector, ...).
    #[error("deciding {kind}: {source}")]
    Decide {
        kind: &'static str,
        source: skiff_controllers::Error,
    },
    /// A request to the API server failed.
    #[error("{verb} {what}: {source}")]
    Api {
        verb: &'static str,
        what: String,
        source: Box<kube::Error>,
    },
    /// A shared cache stopped before it was ready (the term of leadership is ending).
    #[error("the {what} cache is not ready")]
    CacheNotReady { what: &'static str },
}

impl Error {
    /// Wraps a kube error of `verb` on `what`.
    pub(crate) fn api(
        verb: &'static str,
        what: impl Into<String>,
    ) -> impl FnOnce(kube::Error) -> Error {
        let what = what.into();
        move |source| Error::Api {
            verb,
            what,
            source: Box::new(source),
        }
    }

    /// What went wrong, as an Event says it: the API server's message for a refused
    /// request (`pods "web-" is forbidden: ...`), else the whole error.
    pub(crate) fn cause(&self) -> String {
        match self {
            Error::Api { source, .. } => match source.as_ref() {
                kube::Error::Api(status) => status.message.clone(),
                other => other.to_string(),
            },
            other => other.to_string(),
        }
    }

    /// A 409 Conflict (stale cache) or 404: worth a quick retry, not a long back-off.
    fn is_stale(&self) -> bool {
        matches!(self, Error::Api { source, .. }
            if matches!(source.as_ref(), kube::Error::Api(s) if s.code == 409 || s.code == 404))
    }
}

/// Per-object consecutive failures, for the exponential back-off of the error policies;
/// the objects waiting to retry are counted in [`Metrics`] per controller.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
    metrics: Metrics,
}

impl Backoff {
    pub(crate) fn new(metrics: Metrics) -> Backoff {
        Backoff {
            failures: Mutex::default(),
            metrics,
        }
    }

    /// The delay before retrying `key` of `controller` after `error`: 200 ms doubling up to
    /// 30 s (a stale cache retries after 200 ms).
    pub(crate) fn next(&self, controller: &'static str, key: String, error: &Error) -> Action {
        tracing::debug!("controller-manager: {key}: {error}");
        let mut failures = skiff_sync::lock(&self.failures);
        let n = failures.entry(key).or_insert(0);
        if *n == 0 {
            self.metrics.retrying(controller, true);
        }
        *n = n.saturating_add(1);
        if error.is_stale() {
            return Action::requeue(Duration::from_millis(200));
        }
        let millis = 200u64.saturating_mul(1 << (*n).min(8));
        Action::requeue(Duration::from_millis(millis.min(30_000)))
    }

    /// Forgets the failures of `key` of `controller` after a successful reconcile.
    pub(crate) fn reset(&self, controller: &'static str, key: &str) {
        if skiff_sync::lock(&self.failures).remove(key).is_some() {
            self.metrics.retrying(controller, false);
        }
    }
}
