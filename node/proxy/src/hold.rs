//! Holding a guest's connection to the ClusterIP of a Service scaled to zero. The overlay
//! asks the proxy for an endpoint synchronously (wasi's `start-connect` needs a real
//! address at once), so the proxy answers with a one-shot loopback listener of its own: a
//! task accepts the guest's connection (its real peer address names the guest's pod, as
//! the overlay's own relays check), wakes the Deployment, waits for an endpoint
//! ([`crate::wake::HOLD`] at most) and hands the connection to the overlay as a flow from
//! the guest's pod. Nothing else may use the listener: a peer that is no guest socket is
//! dropped.

use crate::node_port::Forwarder;
use crate::table::PortRoute;
use skiff_runtime_wasm::network::{NetError, PodNetwork, Proto, REAL_HOST};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long the one-shot listener waits for the guest's connection.
const ACCEPT_WAIT: Duration = Duration::from_secs(10);

/// What holding needs, set once the proxy runs ([`crate::run`]).
pub(crate) struct Holder {
    pub forwarder: Arc<Forwarder>,
    pub handle: tokio::runtime::Handle,
    pub tasks: TaskTracker,
    pub stop: CancellationToken,
    /// UDP relays handed out while their Deployment wakes (`hold_udp`).
    pub udp: crate::hold_udp::Waiting,
}

impl Holder {
    /// The address the guest connects to instead of an endpoint of `route` (which has
    /// none): a one-shot listener whose task wakes `deployment` and forwards.
    pub(crate) fn hold(
        &self,
        route: &PortRoute,
        deployment: &str,
        vip: SocketAddr,
    ) -> Result<SocketAddr, NetError> {
        let listener = std::net::TcpListener::bind((REAL_HOST, 0))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|_| NetError::Refused(vip))?;
        let real = listener.local_addr().map_err(|_| NetError::Refused(vip))?;
        let (f, stop) = (self.forwarder.clone(), self.stop.clone());
        let (route, deployment) = (route.clone(), deployment.to_owned());
        self.tasks.spawn_on(
            async move { forward_when_awake(f, listener, route, deployment, stop).await },
            &self.handle,
        );
        Ok(real)
    }
}

async fn forward_when_awake(
    f: Arc<Forwarder>,
    listener: std::net::TcpListener,
    route: PortRoute,
    deployment: String,
    stop: CancellationToken,
) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    let accepted = tokio::select! {
        () = stop.cancelled() => return,
        accepted = tokio::time::timeout(ACCEPT_WAIT, listener.accept()) => accepted,
    };
    drop(listener);
    let Ok(Ok((stream, peer))) = accepted else {
        return;
    };
    let Some(source) = f.overlay.virtual_of(Proto::Tcp, peer) else {
        return;
    };
    let waker = &f.waker;
    let backend = waker
        .wake_and_wait(&f.proxy, &route, &deployment, source.ip(), &stop)
        .await;
    let Some(backend) = backend else {
        let _ = stream.set_zero_linger();
        return;
    };
    if let Err(not) = f.overlay.forward_tcp(stream, source, None, backend).await {
        tracing::debug!(%source, %backend, "held connection not forwarded: {}", not.error);
        let _ = not.stream.set_zero_linger();
    }
}
