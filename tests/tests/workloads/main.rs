//! Workload controllers end to end on `skiff up` with its real agent, through the real
//! kubectl: Deployments (rollout status, scale, history, undo, pause/resume, restart, cascade
//! on delete), a Job, Endpoints and EndpointSlices following readiness probes, a DaemonSet's
//! revisions (`rollout undo ds`), a PodDisruptionBudget's status spent by evictions, and a
//! HorizontalPodAutoscaler's conditions, and the Events the controllers and the scheduler record
//! (`kubectl describe`, `kubectl events`). One `skiff up` serves every step, to keep wall time
//! low; each step cleans up what it made.

mod daemonset;
mod deployment;
mod disruption;
mod endpoints;
mod events;
mod hpa;
mod job;
mod support;

use std::time::Duration;

use skiff_tests::run_bounded;

/// The whole suite's bound.
const LIMIT: Duration = Duration::from_secs(600);

#[test]
fn workloads_on_skiff_up() {
    run_bounded("workloads", LIMIT, async {
        let mut cluster = support::Cluster::up().await?;
        deployment::rollouts(&cluster).await?;
        events::recorded(&cluster).await?;
        job::completes(&cluster).await?;
        endpoints::follow_readiness(&cluster).await?;
        daemonset::revisions(&cluster).await?;
        disruption::budgets(&cluster).await?;
        hpa::conditions(&cluster).await?;
        cluster.stop().await;
        Ok(())
    });
}
