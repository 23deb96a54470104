//! Endpoints that are not resources: `/version` and health checks (open to all), discovery,
//! OpenAPI and Prometheus metrics (any authenticated caller).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::{HeaderMap, Method, Response, StatusCode};
use skiff_api::discovery;

use super::ApiServer;
use skiff_respond::{self as respond, Body};

/// Request counters exposed at `/metrics`.
#[derive(Default)]
pub(crate) struct Metrics {
    requests: [AtomicU64; 6],
    errors: AtomicU64,
    micros: AtomicU64,
}

/// What `/metrics` reports of the store on this replica.
struct StoreGauges {
    revision: u64,
    is_leader: bool,
    read_rounds: skiff_replica::RoundCounts,
}

const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "OTHER"];

impl Metrics {
    pub(crate) fn record(&self, method: &Method, status: StatusCode, elapsed: Duration) {
        let i = METHODS
            .iter()
            .position(|m| *m == method.as_str())
            .unwrap_or(5);
        self.requests[i].fetch_add(1, Ordering::Relaxed);
        if status.is_server_error() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        self.micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, store: StoreGauges, token_store_lookups: u64) -> String {
        let StoreGauges {
            revision,
            is_leader,
            read_rounds,
        } = store;
        let mut out = String::from(
            "# HELP apiserver_request_total Requests served, by method.\n# TYPE apiserver_request_total counter\n",
        );
        for (i, m) in METHODS.iter().enumerate() {
            out.push_str(&format!(
                "apiserver_request_total{{verb=\"{m}\"}} {}\n",
                self.requests[i].load(Ordering::Relaxed)
            ));
        }
        out.push_str("# HELP apiserver_request_errors_total Requests answered with a 5xx status.\n# TYPE apiserver_request_errors_total counter\n");
        out.push_str(&format!(
            "apiserver_request_errors_total {}\n",
            self.errors.load(Ordering::Relaxed)
        ));
        out.push_str("# HELP apiserver_request_duration_seconds_sum Total time spent serving requests.\n# TYPE apiserver_request_duration_seconds_sum counter\n");
        out.push_str(&format!(
            "apiserver_request_duration_seconds_sum {}\n",
            self.micros.load(Ordering::Relaxed) as f64 / 1e6
        ));
        out.push_str("# HELP skiff_store_revision The store's current revision on this replica.\n# TYPE skiff_store_revision gauge\n");
        out.push_str(&format!("skiff_store_revision {revision}\n"));
        out.push_str("# HELP skiff_store_is_leader 1 if this replica is the Raft leader.\n# TYPE skiff_store_is_leader gauge\n");
        out.push_str(&format!("skiff_store_is_leader {}\n", u8::from(is_leader)));
        out.push_str("# HELP skiff_store_read_index_rounds_total Read-index rounds confirmed while leading: by probing the voters, or by openraft's ReadIndex when that could not.\n# TYPE skiff_store_read_index_rounds_total counter\n");
        out.push_str(&format!(
            "skiff_store_read_index_rounds_total{{confirmed_by=\"voters\"}} {}\nskiff_store_read_index_rounds_total{{confirmed_by=\"openraft\"}} {}\n",
            read_rounds.by_voters, read_rounds.by_openraft
        ));
        out.push_str("# HELP skiff_store_read_index_unconfirmed_total Read-index rounds the voters did not confirm (one said no, or too few answered in time), passed to openraft.\n# TYPE skiff_store_read_index_unconfirmed_total counter\n");
        out.push_str(&format!(
            "skiff_store_read_index_unconfirmed_total {}\n",
            read_rounds.unconfirmed
        ));
        out.push_str("# HELP skiff_apiserver_token_store_lookups_total Bearer tokens the token index did not know, looked up in the store.\n# TYPE skiff_apiserver_token_store_lookups_total counter\n");
        out.push_str(&format!(
            "skiff_apiserver_token_store_lookups_total {token_store_lookups}\n"
        ));
        out
    }
}

impl ApiServer {
    /// Paths served without authentication.
    pub fn open_endpoint(&self, path: &str) -> Option<Response<Body>> {
        match path {
            "/version" | "/version/" => {
                Some(respond::json(StatusCode::OK, &discovery::version_info()))
            }
            "/healthz" | "/livez" => Some(respond::text(StatusCode::OK, "ok")),
            // "ok (leader <hex id>)": the test harness and the benchmarks find the leader here.
            "/readyz" => Some(match self.objects.replica.leader() {
                Some((id, _)) => respond::text(StatusCode::OK, format!("ok (leader {id:016x})")),
                None => respond::text(StatusCode::SERVICE_UNAVAILABLE, "[-]etcd failed: no leader"),
            }),
            _ => None,
        }
    }

    /// Discovery, OpenAPI and metrics, for authenticated callers.
    pub fn discovery_endpoint(
        &self,
        path: &str,
        query: &str,
        headers: &HeaderMap,
    ) -> Option<Response<Body>> {
        let path = path.trim_end_matches('/');
        let ok = |v: serde_json::Value| Some(respond::json(StatusCode::OK, &v));
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match segments.as_slice() {
            ["api"] => ok(discovery::api_versions(&self.advertise)),
            ["apis"] => ok(discovery::api_group_list()),
            ["api", version] => {
                discovery::resource_list("", version).map(|v| respond::json(StatusCode::OK, &v))
            }
            ["apis", group] => {
                discovery::api_group(group).map(|v| respond::json(StatusCode::OK, &v))
            }
            ["apis", group, version] => {
                discovery::resource_list(group, version).map(|v| respond::json(StatusCode::OK, &v))
            }
            ["openapi", "v3"] => Some(super::openapi::serve("", query, headers)),
            ["openapi", "v3", rest @ ..] => {
                Some(super::openapi::serve(&rest.join("/"), query, headers))
            }
            ["openapi", "v2"] => Some(super::openapi::serve_v2(headers)),
            ["metrics"] => {
                let replica = &self.objects.replica;
                let store = StoreGauges {
                    revision: replica.revision(),
                    is_leader: replica.is_leader(),
                    read_rounds: replica.read_rounds(),
                };
                let mut text = self.metrics.render(store, self.tokens.store_lookups());
                for source in skiff_sync::lock(&self.metrics_sources).iter() {
                    text.push_str(&source());
                }
                Some(respond::bytes(
                    StatusCode::OK,
                    "text/plain; version=0.0.4",
                    text,
                ))
            }
            _ => None,
        }
    }
}
