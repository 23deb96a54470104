//! The scheduler and the controller manager inside a replica's process, as k3s runs
//! kube-scheduler and kube-controller-manager inside its server: each is an API client of this
//! replica's own API server over in-process connections (`skiff-pipe`: HTTP without TLS or a
//! socket), with a per-process token of its own, and acts
//! only while it holds its Lease in `kube-system` (`kube-scheduler`,
//! `kube-controller-manager`), whose holder identity is this replica's id. Every replica runs
//! both; losing a Lease stops the component at once.

use std::time::Duration;

use kube::Client;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use skiff_apiserver::{ApiServer, Component};
use skiff_controller_manager::ManagerConfig;
use skiff_election::{Elector, ElectorConfig};
use skiff_pipe::Dialer;
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
    #[error("building the {component} client: {source}")]
    Client {
        component: &'static str,
        source: skiff_pipe::PipeError,
    },
}

/// A kube-rs client of this replica's API server acting as `component`, over in-process
/// connections.
fn client_for(
    api: &ApiServer,
    component: Component,
    in_process: &Dialer,
) -> Result<Client, ComponentError> {
    skiff_pipe::client(
        in_process.clone(),
        api.component_token(component),
        "default",
        skiff_pipe::Retry::ServerErrors,
    )
    .map_err(|source| ComponentError::Client {
        component: component.user_name(),
        source,
    })
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
    in_process: &Dialer,
    ca_pem: &str,
    id: NodeId,
    options: &ComponentOptions,
    tasks: &TaskTracker,
    stop: &CancellationToken,
) -> Result<(), ComponentError> {
    if options.scheduler {
        let client = client_for(api, Component::Scheduler, in_process)?;
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
        let client = client_for(api, Component::ControllerManager, in_process)?;
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
