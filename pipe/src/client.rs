//! A kube-rs client over a pipe: kube-rs' own base-URI, retry and bearer-token layers over
//! hyper's pooled HTTP/1.1 client, whose connector dials the pipe instead of a socket.

use std::future::{Ready, ready};
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use kube::client::ConfigExt;
use kube::client::retry::RetryPolicy;
use kube::config::AuthInfo;
use tower::ServiceBuilder;
use tower::retry::RetryLayer;

use crate::io::PipeIo;
use crate::{Dialer, PipeError};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The URL requests name: never resolved, every connection is a dial of the pipe.
const PIPE_URL: &str = "http://in-process.skiff.invalid";

/// Whether a client sends a request again after a 429, 503 or 504 (kube-rs'
/// `Config::default_retry`, with its `RetryPolicy::server_retry` back-off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// As kube-rs' default client does.
    ServerErrors,
    /// Never: the caller decides (the agent's failover moves to another replica instead).
    Never,
}

/// A client of the pipe's API server presenting `token`, with `default_namespace` for
/// namespaced calls that name none.
pub fn client(
    dialer: Dialer,
    token: &str,
    default_namespace: &str,
    retry: Retry,
) -> Result<kube::Client, PipeError> {
    let mut config = kube::Config::new(Uri::from_static(PIPE_URL));
    config.auth_info = AuthInfo {
        token: Some(token.to_owned().into()),
        ..AuthInfo::default()
    };
    let auth = config.auth_layer().map_err(PipeError::Client)?;
    let http = HyperClient::builder(TokioExecutor::new()).build(PipeConnector { dialer });
    let retry =
        (retry == Retry::ServerErrors).then(|| RetryLayer::new(RetryPolicy::server_retry()));
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(retry)
        .option_layer(auth)
        .map_err(BoxError::from)
        .service(http);
    Ok(kube::Client::new(service, default_namespace))
}

/// hyper's connector: each new connection is a dial.
#[derive(Clone)]
struct PipeConnector {
    dialer: Dialer,
}

impl tower_service::Service<Uri> for PipeConnector {
    type Response = PipeIo;
    type Error = PipeError;
    type Future = Ready<Result<PipeIo, PipeError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), PipeError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        ready(self.dialer.dial().map(PipeIo::new))
    }
}
