//! What a run asked of the API server: `apiserver_request_total` read from `/metrics` before
//! and after, summed by verb, resource and subresource, so a benchmark can say how many
//! creates, status patches and token requests its pods cost.

use std::collections::BTreeMap;

use anyhow::Context;
use kube::Client;

/// Requests by `verb resource[/subresource]`.
pub type RequestCounts = BTreeMap<String, u64>;

/// The API server's request counters now.
pub async fn request_counts(client: &Client) -> anyhow::Result<RequestCounts> {
    let request = http::Request::get("/metrics")
        .body(Vec::new())
        .context("metrics request")?;
    let text = client.request_text(request).await.context("GET /metrics")?;
    Ok(parse(&text))
}

/// Sums `apiserver_request_total` samples by verb and resource (codes and scopes merged).
fn parse(text: &str) -> RequestCounts {
    let mut counts = RequestCounts::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        let label = |name: &str| {
            let start = format!("{name}=\"");
            labels
                .split(',')
                .find_map(|l| l.strip_prefix(start.as_str()))
                .map(|v| v.trim_end_matches('"').to_owned())
                .unwrap_or_default()
        };
        let (resource, sub) = (label("resource"), label("subresource"));
        let what = match (resource.is_empty(), sub.is_empty()) {
            (true, _) => "(no resource)".to_owned(),
            (false, true) => resource,
            (false, false) => format!("{resource}/{sub}"),
        };
        *counts
            .entry(format!("{} {what}", label("verb")))
            .or_default() += value as u64;
    }
    counts
}

/// `after - before`, one `verb resource: n` per line, biggest first; unchanged ones left out.
pub fn describe_delta(before: &RequestCounts, after: &RequestCounts) -> String {
    let mut rows: Vec<(u64, &String)> = after
        .iter()
        .map(|(k, v)| (v.saturating_sub(before.get(k).copied().unwrap_or(0)), k))
        .filter(|(n, _)| *n > 0)
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let total: u64 = rows.iter().map(|(n, _)| n).sum();
    let mut out = format!("{total} requests:");
    for (n, what) in rows {
        out.push_str(&format!(" {what} {n};"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_by_verb_and_resource_and_subtracts() {
        let before = parse(
            "# HELP x\napiserver_request_total{verb=\"POST\",group=\"\",version=\"v1\",resource=\"pods\",subresource=\"\",scope=\"namespace\",component=\"apiserver\",code=\"201\"} 2\n",
        );
        let after = parse(concat!(
            "apiserver_request_total{verb=\"POST\",group=\"\",version=\"v1\",resource=\"pods\",subresource=\"\",scope=\"namespace\",component=\"apiserver\",code=\"201\"} 7\n",
            "apiserver_request_total{verb=\"POST\",group=\"\",version=\"v1\",resource=\"pods\",subresource=\"\",scope=\"namespace\",component=\"apiserver\",code=\"409\"} 1\n",
            "apiserver_request_total{verb=\"PATCH\",group=\"\",version=\"v1\",resource=\"pods\",subresource=\"status\",scope=\"resource\",component=\"apiserver\",code=\"200\"} 3\n",
            "apiserver_request_duration_seconds_bucket{verb=\"PATCH\",le=\"1\"} 3\n",
        ));
        assert_eq!(after["POST pods"], 8);
        assert_eq!(
            describe_delta(&before, &after),
            "9 requests: POST pods 6; PATCH pods/status 3;"
        );
    }
}
