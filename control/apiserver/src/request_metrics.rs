//! kube-apiserver's request metrics at `/metrics`: `apiserver_request_total` (by verb, group,
//! version, resource, subresource, scope, component and code) and the
//! `apiserver_request_duration_seconds` histogram (the same labels but the code), with
//! kube-apiserver's label values (`pkg/endpoints/metrics/metrics.go`): the verb is the
//! reported one (`GET`, `LIST`, `WATCH`, `POST`, `PUT`, `PATCH`, `DELETE`,
//! `DELETECOLLECTION`, `CONNECT`), the scope `cluster`, `namespace` or `resource`. A path that
//! is no resource (discovery, `/metrics`, `/healthz`) is counted by its method with empty
//! resource labels, so bad paths cannot grow the series without bound.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use http::{Method, StatusCode};
use skiff_api::metrics::exposition::{self, Histogram, REQUEST_DURATION_BOUNDS};

use crate::request::{self, Verb};

/// What a request is counted under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RequestLabels {
    pub verb: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub resource: &'static str,
    pub subresource: &'static str,
    pub scope: &'static str,
}

impl RequestLabels {
    /// The labels of a request for `path?query` with `method`.
    pub(crate) fn of(method: &Method, path: &str, query: &str) -> RequestLabels {
        // `nodes/<n>/proxy/<anything>` is counted as `nodes/proxy`.
        let path = match crate::node_proxy::split(path) {
            Some((_, tail)) => &path[..path.len() - tail.len()],
            None => path,
        };
        let Ok(Some(parsed)) = request::parse(method, path, query) else {
            return RequestLabels::non_resource(method);
        };
        let info = parsed.info;
        let subresource = parsed
            .subresource
            .as_deref()
            .and_then(|s| info.subresources.iter().find(|known| **known == s))
            .copied()
            .unwrap_or("");
        let streaming = matches!(subresource, "exec" | "attach" | "portforward" | "proxy");
        let verb = match parsed.verb {
            _ if streaming => "CONNECT",
            Verb::Get => "GET",
            Verb::List => "LIST",
            Verb::Watch => "WATCH",
            Verb::Create => "POST",
            Verb::Update => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
            Verb::DeleteCollection => "DELETECOLLECTION",
        };
        let scope = match (&parsed.name, &parsed.namespace) {
            (Some(_), _) => "resource",
            (None, Some(_)) => "namespace",
            (None, None) => "cluster",
        };
        RequestLabels {
            verb,
            group: info.group,
            version: info.version,
            resource: info.plural,
            subresource,
            scope,
        }
    }

    fn non_resource(method: &Method) -> RequestLabels {
        let verb = match *method {
            Method::GET => "GET",
            Method::HEAD => "HEAD",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::PATCH => "PATCH",
            Method::DELETE => "DELETE",
            Method::OPTIONS => "OPTIONS",
            _ => "other",
        };
        RequestLabels {
            verb,
            group: "",
            version: "",
            resource: "",
            subresource: "",
            scope: "",
        }
    }

    fn render(&self) -> String {
        exposition::labels(&[
            ("component", "apiserver"),
            ("group", self.group),
            ("resource", self.resource),
            ("scope", self.scope),
            ("subresource", self.subresource),
            ("verb", self.verb),
            ("version", self.version),
        ])
    }
}

/// One label set's numbers.
#[derive(Debug)]
struct Series {
    by_code: BTreeMap<u16, u64>,
    duration: Histogram,
}

/// The request counters and durations of this API server.
#[derive(Debug, Default)]
pub(crate) struct RequestMetrics {
    series: Mutex<HashMap<RequestLabels, Series>>,
}

impl RequestMetrics {
    /// Counts one answered request.
    pub(crate) fn record(&self, labels: RequestLabels, status: StatusCode, elapsed: Duration) {
        let mut series = skiff_sync::lock(&self.series);
        let one = series.entry(labels).or_insert_with(|| Series {
            by_code: BTreeMap::new(),
            duration: Histogram::new(&REQUEST_DURATION_BOUNDS),
        });
        *one.by_code.entry(status.as_u16()).or_insert(0) += 1;
        one.duration.observe(elapsed.as_secs_f64());
    }

    /// Both families in the text format.
    pub(crate) fn render(&self) -> String {
        let mut sorted: Vec<(RequestLabels, BTreeMap<u16, u64>, Histogram)> = {
            let series = skiff_sync::lock(&self.series);
            series
                .iter()
                .map(|(k, s)| (*k, s.by_code.clone(), s.duration.clone()))
                .collect()
        };
        sorted.sort_by_key(|a| a.0);
        let mut out = String::new();
        exposition::header(
            &mut out,
            "apiserver_request_total",
            "counter",
            "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
        );
        for (labels, codes, _) in &sorted {
            let rendered = labels.render();
            for (code, count) in codes {
                let _ = writeln!(
                    out,
                    "apiserver_request_total{{code=\"{code}\",{rendered}}} {count}"
                );
            }
        }
        exposition::header(
            &mut out,
            "apiserver_request_duration_seconds",
            "histogram",
            "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
        );
        for (labels, _, histogram) in &sorted {
            histogram.render(
                &mut out,
                "apiserver_request_duration_seconds",
                &labels.render(),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (verb, group, resource, subresource, scope).
    type Expected = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    );

    #[test]
    fn labels_follow_kube_apiserver() {
        // (method, path, query, (verb, group, resource, subresource, scope))
        let cases: [(Method, &str, &str, Expected); 10] = [
            (
                Method::GET,
                "/api/v1/pods",
                "",
                ("LIST", "", "pods", "", "cluster"),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/a/pods",
                "watch=1",
                ("WATCH", "", "pods", "", "namespace"),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/a/pods/p",
                "",
                ("GET", "", "pods", "", "resource"),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/a/pods/p/log",
                "",
                ("GET", "", "pods", "log", "resource"),
            ),
            (
                Method::POST,
                "/apis/apps/v1/namespaces/a/deployments",
                "",
                ("POST", "apps", "deployments", "", "namespace"),
            ),
            (
                Method::PATCH,
                "/api/v1/nodes/n/status",
                "",
                ("PATCH", "", "nodes", "status", "resource"),
            ),
            (
                Method::DELETE,
                "/api/v1/namespaces/a/configmaps",
                "",
                ("DELETECOLLECTION", "", "configmaps", "", "namespace"),
            ),
            (
                Method::POST,
                "/api/v1/namespaces/a/pods/p/portforward",
                "",
                ("CONNECT", "", "pods", "portforward", "resource"),
            ),
            (
                Method::GET,
                "/api/v1/no-such-things",
                "",
                ("GET", "", "", "", ""),
            ),
            (
                Method::GET,
                "/api/v1/nodes/n/proxy/metrics",
                "",
                ("CONNECT", "", "nodes", "proxy", "resource"),
            ),
        ];
        for (method, path, query, (verb, group, resource, sub, scope)) in cases {
            let l = RequestLabels::of(&method, path, query);
            assert_eq!(
                (l.verb, l.group, l.resource, l.subresource, l.scope),
                (verb, group, resource, sub, scope),
                "{method} {path}?{query}"
            );
        }
    }

    #[test]
    fn renders_counts_by_code_and_a_histogram_per_label_set() {
        let m = RequestMetrics::default();
        let list = RequestLabels::of(&Method::GET, "/api/v1/pods", "");
        m.record(list, StatusCode::OK, Duration::from_millis(3));
        m.record(list, StatusCode::OK, Duration::from_millis(30));
        m.record(list, StatusCode::FORBIDDEN, Duration::from_millis(1));
        let text = m.render();
        let labels = "component=\"apiserver\",group=\"\",resource=\"pods\",scope=\"cluster\",subresource=\"\",verb=\"LIST\",version=\"v1\"";
        for line in [
            format!("apiserver_request_total{{code=\"200\",{labels}}} 2"),
            format!("apiserver_request_total{{code=\"403\",{labels}}} 1"),
            format!("apiserver_request_duration_seconds_bucket{{{labels},le=\"0.005\"}} 2"),
            format!("apiserver_request_duration_seconds_bucket{{{labels},le=\"0.05\"}} 3"),
            format!("apiserver_request_duration_seconds_count{{{labels}}} 3"),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }
}
