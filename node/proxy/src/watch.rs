//! The reflectors that keep the [`Proxy`]'s table: Services and EndpointSlices, each a
//! kube-runtime watcher feeding a reflector store. Once both have listed, every change
//! rebuilds the table from the two stores and swaps it in (a relist replaces a store
//! whole, so objects deleted while a watch was down leave the table too).

use crate::proxy::Proxy;
use crate::table::Routes;
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use tokio_util::sync::CancellationToken;

/// What one watch event means for the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Part of a relist: wait for its end.
    Listing,
    /// The store holds a complete, changed view.
    Changed,
}

/// Keeps `proxy`'s table current until `shutdown`.
pub(crate) async fn keep_routes(client: Client, proxy: Proxy, shutdown: CancellationToken) {
    let (services, services_writer) = reflector::store::<Service>();
    let (slices, slices_writer) = reflector::store::<EndpointSlice>();
    let service_events = reflector::reflector(
        services_writer,
        watcher(
            Api::<Service>::all(client.clone()),
            watcher::Config::default(),
        ),
    );
    let slice_events = reflector::reflector(
        slices_writer,
        watcher(
            Api::<EndpointSlice>::all(client),
            watcher::Config::default(),
        ),
    );
    let events = futures::stream::select(
        seen(service_events, "Service").map(|s| (s, true)),
        seen(slice_events, "EndpointSlice").map(|s| (s, false)),
    );
    let mut events = std::pin::pin!(events);
    let (mut services_listed, mut slices_listed) = (false, false);
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => return,
            event = events.next() => event,
        };
        let Some((seen, is_service)) = event else {
            return;
        };
        if seen == Seen::Changed {
            *(if is_service {
                &mut services_listed
            } else {
                &mut slices_listed
            }) = true;
        }
        if seen == Seen::Changed && services_listed && slices_listed {
            proxy.set_routes(build(&services, &slices));
        }
    }
}

/// The table of the stores' current contents.
fn build(services: &Store<Service>, slices: &Store<EndpointSlice>) -> Routes {
    let services = services.state();
    let slices = slices.state();
    Routes::build(
        services.iter().map(AsRef::as_ref),
        slices.iter().map(AsRef::as_ref),
    )
}

/// A reflector's events as [`Seen`], retried with back-off; errors are logged.
fn seen<K: Send + 'static>(
    events: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    kind: &'static str,
) -> impl Stream<Item = Seen> + Send + 'static {
    events
        .default_backoff()
        .filter_map(move |event| async move {
            match event {
                Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => Some(Seen::Listing),
                Ok(_) => Some(Seen::Changed),
                Err(e) => {
                    tracing::warn!(kind, "node proxy watch failed: {e}; retrying");
                    None
                }
            }
        })
}
