//! The event-ttl sweep: while this replica leads, every `event_ttl_sweep` it lists the
//! Events (in pages) and deletes those `skiff_controllers::event_ttl::expired` says have
//! outlived `event_ttl`, each with a resourceVersion precondition so an Event written
//! meanwhile stays. kube-apiserver gets the same effect from etcd leases; skiff's store has
//! none, so the leader's controller manager does it (at most one sweep late).

use std::sync::Arc;

use k8s_openapi::api::core::v1::Event;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Preconditions};
use skiff_controllers::event_ttl::expired;

use crate::context::Ctx;

/// The sweep's name in metrics and logs.
const NAME: &str = "event_ttl";

/// Events listed at once.
const PAGE: u32 = 500;

/// Sweeps every period until the term ends (the caller drops this future).
pub(crate) async fn controller(ctx: Arc<Ctx>) {
    let mut ticks = tokio::time::interval(ctx.config.event_ttl_sweep);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let _busy = ctx.metrics.busy(NAME);
        let result = sweep(&ctx).await;
        if let Err(e) = &result {
            tracing::debug!("controller-manager: {NAME}: {e}");
        }
        ctx.metrics.finished(NAME, result.is_err());
    }
}

/// One pass over every Event; the number deleted.
async fn sweep(ctx: &Ctx) -> Result<usize, kube::Error> {
    let api: Api<Event> = Api::all(ctx.client.clone());
    let mut params = ListParams::default().limit(PAGE);
    let mut deleted = 0;
    loop {
        let page = api.list(&params).await?;
        let now = Timestamp::now();
        for event in &page.items {
            if expired(event, now, ctx.config.event_ttl) {
                deleted += usize::from(delete(ctx, event).await);
            }
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(deleted),
        }
    }
}

/// Deletes `event` unless it changed since it was listed; whether it was deleted.
async fn delete(ctx: &Ctx, event: &Event) -> bool {
    let meta = &event.metadata;
    let (Some(namespace), Some(name)) = (&meta.namespace, &meta.name) else {
        return false;
    };
    let api: Api<Event> = Api::namespaced(ctx.client.clone(), namespace);
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            resource_version: meta.resource_version.clone(),
            uid: meta.uid.clone(),
        }),
        ..DeleteParams::default()
    };
    match api.delete(name, &params).await {
        Ok(_) => true,
        Err(e) => {
            // Gone already, or written since: either way it is not expired now.
            tracing::debug!("controller-manager: {NAME}: {namespace}/{name}: {e}");
            false
        }
    }
}
