//! Endpoints that are not resources: `/version` and health checks (open to all), discovery,
//! OpenAPI and Prometheus metrics (any authenticated caller).

use http::{HeaderMap, Response, StatusCode};
use skiff_api::discovery;

use super::ApiServer;
use crate::request_metrics::RequestMetrics;
use skiff_respond::{self as respond, Body};

/// What `/metrics` reports of this API server itself.
#[derive(Default)]
pub(crate) struct Metrics {
    pub(crate) requests: RequestMetrics,
}

/// What `/metrics` reports of the store on this replica.
struct StoreGauges {
    revision: u64,
    is_leader: bool,
    read_rounds: skiff_replica::RoundCounts,
}

impl Metrics {
    fn render(&self, store: StoreGauges, token_store_lookups: u64) -> String {
        let StoreGauges {
            revision,
            is_leader,
            read_rounds,
        } = store;
        let mut out = self.requests.render();
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
                    skiff_api::metrics::exposition::CONTENT_TYPE,
                    text,
                ))
            }
            _ => None,
        }
    }
}
