//! The accept loop: TLS handshake per connection, HTTP/1.1 or HTTP/2 by ALPN, and a graceful
//! drain when the shutdown token fires.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::routes::Router;
use skiff_pki::accept_tls;

/// How long open connections get to finish after shutdown starts.
const DRAIN_GRACE: Duration = skiff_pipe::DRAIN_GRACE;

/// Serves `router` on `listener` until `shutdown` fires, then drains connections.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Arc<Router>,
    shutdown: CancellationToken,
) {
    let acceptor = TlsAcceptor::from(tls);
    let tracker = TaskTracker::new();
    loop {
        let (tcp, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let router = router.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            let Some(stream) = accept_tls(&acceptor, tcp, peer).await else {
                return;
            };
            let handler = move |request| {
                let router = router.clone();
                async move { router.handle(request, peer).await }
            };
            skiff_pipe::serve_connection(stream, handler, shutdown, peer).await;
        });
    }
    tracker.close();
    if tokio::time::timeout(DRAIN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("connections still open {DRAIN_GRACE:?} after shutdown; dropping them");
    }
}
