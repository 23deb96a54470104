//! `nodes/proxy` for an agent's metrics: `GET /api/v1/nodes/<node>/proxy/metrics` (also
//! `/metrics/cadvisor` and `/metrics/resource`, the kubelet's metric paths, which an agent
//! serves as one page) goes through the node's tunnel to the agent's `/metrics`, as
//! kube-apiserver proxies to the kubelet's port 10250. Authorised as `get` on `nodes/proxy`
//! (Prometheus' usual ClusterRole grants it). Only the metric paths are proxied: an agent
//! serves nothing else that a scraper needs, and the rest of its tunnel API (logs,
//! port-forward) keeps its own authorisation.

use std::time::Duration;

use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use skiff_api::metrics::AGENT_METRICS_PATH;
use skiff_api::metrics::exposition::CONTENT_TYPE;
use skiff_api::status::ApiError;
use skiff_respond::{self as respond, Body};

use crate::ApiServer;
use crate::auth::Identity;
use crate::request;
use crate::tunnels::TunnelRequestBody;

/// An agent must answer within this (Prometheus' default scrape timeout is 10 s).
const PROXY_TIMEOUT: Duration = Duration::from_secs(8);
/// A metrics page larger than this is refused (a few hundred pods make well under 1 MiB).
const MAX_PAGE: usize = 16 << 20;

/// The node and the path after `proxy` of a node proxy path, or `None` for another path.
pub(crate) fn split(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/api/v1/nodes/")?;
    let (node, tail) = rest.split_once('/')?;
    let tail = tail.strip_prefix("proxy")?;
    if node.is_empty() || !(tail.is_empty() || tail.starts_with('/')) {
        return None;
    }
    Some((node, tail))
}

/// Whether the agent serves `tail` (a path after `proxy`) to a scraper.
fn is_metrics_path(tail: &str) -> bool {
    matches!(
        tail.trim_end_matches('/'),
        "/metrics" | "/metrics/cadvisor" | "/metrics/resource"
    )
}

impl ApiServer {
    /// Serves `GET /api/v1/nodes/<node>/proxy<tail>`.
    pub(crate) async fn node_proxy(
        &self,
        identity: &Identity,
        method: &Method,
        node: &str,
        tail: &str,
    ) -> Result<Response<Body>, ApiError> {
        let core = request::parse(&Method::GET, &format!("/api/v1/nodes/{node}/proxy"), "")?
            .ok_or_else(|| ApiError::internal("nodes/proxy: no resource for the path"))?;
        if !matches!(identity, Identity::Admin | Identity::Component(_)) {
            self.authorize(identity, &core, None).await?;
        }
        if *method != Method::GET {
            return Err(ApiError::method_not_allowed(format!(
                "{method} is not supported on nodes/proxy: only the metric paths are served"
            )));
        }
        if !is_metrics_path(tail) {
            return Err(ApiError::new(
                404,
                "NotFound",
                format!("nodes/proxy serves /metrics only, not {tail:?}"),
            ));
        }
        self.objects.must_get(core.info, None, node).await?;
        let page = self.agent_metrics(node).await?;
        Ok(respond::bytes(StatusCode::OK, CONTENT_TYPE, page))
    }

    async fn agent_metrics(&self, node: &str) -> Result<bytes::Bytes, ApiError> {
        let unavailable =
            |why: String| ApiError::new(503, "ServiceUnavailable", format!("node {node:?}: {why}"));
        let mut tunnel = self
            .tunnels
            .sender(node)
            .ok_or_else(|| unavailable("no tunnel from its agent to this server".into()))?;
        let request = Request::get(AGENT_METRICS_PATH)
            .header(header::HOST, node)
            .body(TunnelRequestBody::new())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let fetch = async {
            tunnel.ready().await.map_err(|e| e.to_string())?;
            let answer = tunnel
                .send_request(request)
                .await
                .map_err(|e| e.to_string())?;
            if answer.status() != StatusCode::OK {
                return Err(format!("the agent answered {}", answer.status()));
            }
            let body = Limited::new(answer.into_body(), MAX_PAGE)
                .collect()
                .await
                .map_err(|e| format!("reading the agent's answer: {e}"))?;
            Ok(body.to_bytes())
        };
        match tokio::time::timeout(PROXY_TIMEOUT, fetch).await {
            Ok(Ok(page)) => Ok(page),
            Ok(Err(why)) => Err(unavailable(why)),
            Err(_) => Err(unavailable(format!("no answer within {PROXY_TIMEOUT:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_node_proxy_paths_only() {
        for (path, expected) in [
            ("/api/v1/nodes/n1/proxy/metrics", Some(("n1", "/metrics"))),
            ("/api/v1/nodes/n1/proxy", Some(("n1", ""))),
            (
                "/api/v1/nodes/n1/proxy/metrics/cadvisor",
                Some(("n1", "/metrics/cadvisor")),
            ),
            ("/api/v1/nodes/n1/proxyx", None),
            ("/api/v1/nodes/n1/status", None),
            ("/api/v1/nodes/n1", None),
            ("/api/v1/nodes//proxy/metrics", None),
            ("/api/v1/namespaces/a/pods/p/proxy", None),
        ] {
            assert_eq!(split(path), expected, "{path}");
        }
        for (tail, served) in [
            ("/metrics", true),
            ("/metrics/", true),
            ("/metrics/cadvisor", true),
            ("/containerLogs/a/b/c", false),
            ("", false),
        ] {
            assert_eq!(is_metrics_path(tail), served, "{tail}");
        }
    }
}
