//! The server side: one hyper connection (HTTP/1.1, or HTTP/2 by its preface, with upgrades)
//! per dialed connection, each drained when the shutdown token fires.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::PipeListener;

/// How long open connections get to finish after shutdown starts.
pub const DRAIN_GRACE: Duration = Duration::from_secs(5);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves every connection dialed to `listener` with `handler` until `shutdown` fires, then
/// drains them (at most [`DRAIN_GRACE`]).
pub async fn serve<H, Fut, B>(mut listener: PipeListener, handler: H, shutdown: CancellationToken)
where
    H: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let tracker = TaskTracker::new();
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Some(stream) => stream,
                None => break,
            },
        };
        let handler = handler.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(serve_connection(stream, handler, shutdown, "in-process"));
    }
    tracker.close();
    if tokio::time::timeout(DRAIN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("in-process connections still open {DRAIN_GRACE:?} after shutdown");
    }
}

/// Serves one connection with `handler` until it ends, or until `shutdown` fires and it has
/// drained (at most [`DRAIN_GRACE`]). `peer` names the client in log lines.
pub async fn serve_connection<I, H, Fut, B>(
    io: I,
    handler: H,
    shutdown: CancellationToken,
    peer: impl std::fmt::Display,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let service = service_fn(move |request| {
        let answer = handler(request);
        async move { Ok::<_, Infallible>(answer.await) }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!("connection from {peer} ended: {e}");
            }
        }
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(DRAIN_GRACE, connection.as_mut()).await;
        }
    }
}
