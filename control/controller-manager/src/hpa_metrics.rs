//! The resource metrics client of the HPA controller (kube's `resourceMetricsClient`):
//! `metrics.k8s.io/v1beta1` PodMetrics of a namespace by label selector, each pod's container
//! usage summed into a `PodUsage`. Errors are worded as kube words them, since they end up in
//! the HPA's ScalingActive condition.

use kube::Client;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde::Deserialize;
use skiff_api::validate::quantity::parse_quantity;
use skiff_controllers::hpa::PodUsage;

/// The fields of a PodMetrics the HPA reads (the metrics-server shape).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PodMetrics {
    timestamp: Option<String>,
    window: Option<String>,
    containers: Vec<ContainerMetrics>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContainerMetrics {
    usage: std::collections::BTreeMap<String, String>,
}

/// The usage of the pods `selector` selects in `namespace`, or why there is none.
pub(crate) async fn pod_usage(
    client: &Client,
    namespace: &str,
    selector: &str,
) -> Result<Vec<PodUsage>, String> {
    let gvk = GroupVersionKind::gvk("metrics.k8s.io", "v1beta1", "PodMetrics");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "pods");
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let list = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|e| match e {
            kube::Error::Api(s) if s.code == 404 => "unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)".to_owned(),
            e => format!("unable to fetch metrics from resource metrics API: {e}"),
        })?;
    if list.items.is_empty() {
        return Err("no metrics returned from resource metrics API".into());
    }
    Ok(list.items.iter().filter_map(usage_of).collect())
}

fn usage_of(item: &DynamicObject) -> Option<PodUsage> {
    let metrics: PodMetrics = serde_json::from_value(item.data.clone()).ok()?;
    let timestamp = metrics
        .timestamp
        .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
        .map_or(0, |t| t.as_second());
    let sum = |resource: &str| {
        metrics
            .containers
            .iter()
            .map(|c| c.usage.get(resource).and_then(|q| parse_quantity(q)))
            .sum::<Option<f64>>()
    };
    Some(PodUsage {
        pod: item.metadata.name.clone()?,
        timestamp,
        window: metrics.window.as_deref().map_or(0, window_seconds),
        cpu: sum("cpu"),
        memory: sum("memory"),
    })
}

/// A Go duration as metrics-server writes it (`30s`, `1m0s`, `10.5s`, `500ms`), in whole
/// seconds rounded up.
fn window_seconds(text: &str) -> i64 {
    let mut total = 0.0;
    let mut number = String::new();
    // `ms` is the one two-letter unit metrics-server could write; `u` stands for it here.
    for ch in text.replace("ms", "u").chars() {
        match ch {
            '0'..='9' | '.' => number.push(ch),
            unit => {
                let value: f64 = number.parse().unwrap_or(0.0);
                number.clear();
                total += value
                    * match unit {
                        'h' => 3600.0,
                        'm' => 60.0,
                        's' => 1.0,
                        'u' => 0.001,
                        _ => 0.0,
                    };
            }
        }
    }
    total.ceil() as i64
}
