//! Waking a Deployment scaled to zero. A connection to a Service marked for scale-to-zero
//! that has no ready endpoint is held (at most [`HOLD`]): the proxy reports the Service
//! active (so the controller does not scale it down again at once), sets the Deployment's
//! `/scale` to 1 (at most once per [`ASK_AGAIN`] per Deployment, however many connections
//! wait), and forwards the connection as soon as an endpoint is ready. A node may patch
//! `deployments/scale` only for a Deployment marked for scale-to-zero that is at 0 replicas
//! (the API server's node rules).

use crate::activity::Reporter;
use crate::proxy::Proxy;
use crate::table::PortRoute;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long a connection is held for a Deployment to wake.
pub const HOLD: Duration = Duration::from_secs(30);
/// How soon the same Deployment is asked to scale up again.
const ASK_AGAIN: Duration = Duration::from_secs(5);

/// Scales Deployments up and holds connections meanwhile.
pub(crate) struct Waker {
    pub client: kube::Client,
    pub reporter: Arc<Reporter>,
    asked: Mutex<HashMap<(String, String), Instant>>,
}

impl Waker {
    pub(crate) fn new(client: kube::Client, reporter: Arc<Reporter>) -> Waker {
        Waker {
            client,
            reporter,
            asked: Mutex::default(),
        }
    }

    /// Wakes `deployment` behind `route` and waits (at most [`HOLD`], or until `stop`) for
    /// a ready endpoint, chosen for `client`.
    pub(crate) async fn wake_and_wait(
        &self,
        proxy: &Proxy,
        route: &PortRoute,
        deployment: &str,
        client: IpAddr,
        stop: &CancellationToken,
    ) -> Option<SocketAddr> {
        let deadline = Instant::now() + HOLD;
        let mut changes = proxy.changes();
        self.wake(route, deployment).await;
        loop {
            let routes = proxy.routes();
            let current = routes.ports.iter().find(|p| {
                p.service == route.service
                    && p.port_name == route.port_name
                    && p.proto == route.proto
            })?;
            if let Some(backend) = proxy.pick(current, client) {
                return Some(backend);
            }
            tokio::select! {
                () = stop.cancelled() => return None,
                () = tokio::time::sleep_until(deadline) => {
                    tracing::warn!(service = ?route.service, deployment, "no endpoint within {HOLD:?} of waking; connection reset");
                    return None;
                }
                changed = changes.changed() => changed.ok()?,
            }
        }
    }

    /// Reports the Service active, then scales `deployment` to 1, unless asked lately.
    async fn wake(&self, route: &PortRoute, deployment: &str) {
        let (namespace, service) = &route.service;
        let key = (namespace.clone(), deployment.to_owned());
        {
            let mut asked = skiff_sync::lock(&self.asked);
            let now = Instant::now();
            asked.retain(|_, at| now.duration_since(*at) < ASK_AGAIN);
            if asked.contains_key(&key) {
                return;
            }
            asked.insert(key, now);
        }
        if let Err(e) = self.reporter.report_now(&route.service).await {
            tracing::warn!(%namespace, %service, "reporting activity before waking: {e}");
        }
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), namespace);
        let patch = serde_json::json!({"spec": {"replicas": 1}});
        match api
            .patch_scale(deployment, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {
                tracing::info!(%namespace, deployment, %service, "scale-to-zero: a connection woke the Deployment")
            }
            // Already woken (the node rules allow this only at 0 replicas).
            Err(kube::Error::Api(e)) if e.code == 403 => {
                tracing::debug!(%namespace, deployment, "not scaled up: {}", e.message);
            }
            Err(e) => tracing::warn!(%namespace, deployment, "waking the Deployment: {e}"),
        }
    }
}
