//! Small helpers around kube-rs calls: every single request is bounded in time, and errors
//! are told apart by their HTTP code, never by their text.

use std::future::Future;
use std::time::Duration;

/// How long one API request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// A failed API request.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("the API server did not answer within {0:?}")]
    Timeout(Duration),
    #[error("{}", describe(.0))]
    Kube(#[from] kube::Error),
}

/// A Kubernetes `Status` answer as `<code> <reason>: <message>`; other errors as they are.
fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => {
            format!("{} {}: {}", status.code, status.reason, status.message)
        }
        other => other.to_string(),
    }
}

impl CallError {
    /// The HTTP code of a Kubernetes `Status` answer.
    pub fn code(&self) -> Option<u16> {
        match self {
            CallError::Kube(kube::Error::Api(status)) => Some(status.code),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.code() == Some(404)
    }

    /// 401 or 403: the credential is wrong or not allowed; retrying will not help.
    pub fn is_refused(&self) -> bool {
        matches!(self.code(), Some(401 | 403))
    }
}

/// Runs one request within [`REQUEST_TIMEOUT`].
pub async fn bounded<T>(
    call: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, CallError> {
    match tokio::time::timeout(REQUEST_TIMEOUT, call).await {
        Ok(result) => result.map_err(CallError::Kube),
        Err(_) => Err(CallError::Timeout(REQUEST_TIMEOUT)),
    }
}
