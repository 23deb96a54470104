//! The scheduler and the controller manager inside a replica's process, as k3s runs
//! kube-scheduler and kube-controller-manager inside its server: each is an API client of this
//! replica's own API server over loopback HTTPS, with a per-process token of its own, and acts
//! only while it holds its Lease in `kube-system` (`kube-scheduler`,
//! `kube-controller-manager`), whose holder identity is this replica's id. Every replica runs
//! both; losing a Lease stops the component at once.

use std::net::SocketAddr;
use std::time::Duration;

use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use skiff_apiserver::{ApiServer, Component, kubeconfig};
use skiff_controller_manager::ManagerConfig;
use skiff_election::{Elector, ElectorConfig};
use skiff_store::types::NodeId;

/// Which components run, and their settings (`skiff server` flags).
#[derive(Clone, Debug)]
pub struct ComponentOptions {
    pub scheduler: bool,
    pub controller_manager: bool,
    pub controllers: ManagerConfig,
    /// Lease duration of both elections; renew deadline and retry period scale with it as
    /// kube-scheduler's defaults do (15 s, 10 s, 2 s).
    pub lease_duration: Duration,
}

impl Default for ComponentOptions {
    fn default() -> Self {
        ComponentOptions {
            scheduler: true,
            controller_manager: true,
            controllers: ManagerConfig::default(),
            lease_duration: Duration::from_secs(15),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    #[error("building the {component} client for {url}: {message}")]
    Client {
        component: &'static str,
        url: String,
        message: String,
    },
}

/// The loopback URL of a listener bound to `local` (an unspecified address is reached on
/// the loopback address of its family).
fn loopback_url(local: SocketAddr) -> String {
    match local {
        SocketAddr::V4(a) if a.ip().is_unspecified() => format!("https://127.0.0.1:{}", a.port()),
        SocketAddr::V6(a) if a.ip().is_unspecified() => format!("https://[::1]:{}", a.port()),
        other => format!("https://{other}"),
    }
}

/// A kube-rs client of this replica's API server acting as `component`.
async fn client_for(
    api: &ApiServer,
    component: Component,
    url: &str,
    ca_pem: &str,
) -> Result<Client, ComponentError> {
    let error = |message: String| ComponentError::Client {
        component: component.user_name(),
        url: url.to_owned(),
        message,
    };
    let text = kubeconfig::render(url, ca_pem, api.component_token(component));
    let parsed = Kubeconfig::from_yaml(&text).map_err(|e| error(e.to_string()))?;
    let config = kube::Config::from_custom_kubeconfig(parsed, &KubeConfigOptions::default())
        .await
        .map_err(|e| error(e.to_string()))?;
    Client::try_from(config).map_err(|e| error(e.to_string()))
}

fn elector(name: &str, id: NodeId, options: &ComponentOptions) -> ElectorConfig {
    let mut config = ElectorConfig::new("kube-system", name, &format!("{id:016x}"));
    config.lease_duration = options.lease_duration;
    config.renew_deadline = options.lease_duration * 2 / 3;
    config.retry_period = (options.lease_duration / 7).max(Duration::from_millis(100));
    config
}

/// Starts the enabled components into `tasks`; they stop (and release their Leases) on `stop`.
pub(crate) async fn start(
    api: &ApiServer,
    local: SocketAddr,
    ca_pem: &str,
    id: NodeId,
    options: &ComponentOptions,
    tasks: &TaskTracker,
    stop: &CancellationToken,
) -> Result<(), ComponentError> {
    let url = loopback_url(local);
    if options.scheduler {
        let client = client_for(api, Component::Scheduler, &url, ca_pem).await?;
        let config = elector("kube-scheduler", id, options);
        let (elector, leading) = Elector::new(client.clone(), config);
        tasks.spawn(elector.run(stop.clone()));
        let metrics = skiff_scheduler::Metrics::default();
        let rendered = metrics.clone();
        api.add_metrics_source(Box::new(move || rendered.render()));
        let stop = stop.clone();
        tasks.spawn(async move {
            if let Err(e) = skiff_scheduler::run_with_metrics(client, leading, stop, metrics).await
            {
                tracing::error!("scheduler stopped: {e}");
            }
        });
    }
    if options.controller_manager {
        let client = client_for(api, Component::ControllerManager, &url, ca_pem).await?;
        let config = elector("kube-controller-manager", id, options);
        let (elector, leading) = Elector::new(client.clone(), config);
        tasks.spawn(elector.run(stop.clone()));
        let mut controllers = options.controllers.clone();
        controllers.root_ca = Some(ca_pem.as_bytes().to_vec());
        let metrics = controllers.metrics.clone();
        api.add_metrics_source(Box::new(move || metrics.render()));
        let stop = stop.clone();
        tasks.spawn(async move {
            if let Err(e) = skiff_controller_manager::run(client, leading, stop, controllers).await
            {
                tracing::error!("controller manager stopped: {e}");
            }
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls() {
        let cases = [
            ("0.0.0.0:6443", "https://127.0.0.1:6443"),
            ("[::]:6443", "https://[::1]:6443"),
            ("127.0.0.2:7000", "https://127.0.0.2:7000"),
        ];
        for (addr, want) in cases {
            let addr: SocketAddr = addr.parse().expect("an address");
            assert_eq!(loopback_url(addr), want);
        }
    }
}
