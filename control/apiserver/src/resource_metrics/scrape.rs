//! Asking agents for their summaries: `GET /stats/summary` through each node's tunnel, all
//! nodes at once, each bounded in time; a node that cannot answer is left out (logged).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use serde_json::Value;
use skiff_api::metrics::{NodeSummary, SUMMARY_PATH};

use super::Target;
use crate::ApiServer;
use crate::tunnels::TunnelRequestBody;

/// An agent must answer within this (metrics-server's scrape timeout is 10 s).
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);
/// A summary larger than this is refused (a node runs at most a few hundred pods).
const MAX_SUMMARY: usize = 8 << 20;

/// Why a node's summary could not be had.
#[derive(Debug, thiserror::Error)]
enum ScrapeError {
    #[error("no tunnel to this replica")]
    NoTunnel,
    #[error("no answer within {SCRAPE_TIMEOUT:?}")]
    Timeout,
    #[error("the tunnel failed: {0}")]
    Tunnel(#[from] hyper::Error),
    #[error("answered {0}")]
    Status(StatusCode),
    #[error("reading the answer: {0}")]
    Body(String),
    #[error("the summary is not valid: {0}")]
    Invalid(#[from] serde_json::Error),
    #[error("building the request: {0}")]
    Request(#[from] http::Error),
}

impl ApiServer {
    /// The summaries of the nodes `objects` are (Nodes) or are bound to (Pods), by node name.
    pub(super) async fn scrape(
        &self,
        objects: &[Value],
        target: &Target,
    ) -> HashMap<String, NodeSummary> {
        let field: fn(&Value) -> Option<String> = match target {
            Target::Nodes(_) => |o: &Value| o["metadata"]["name"].as_str().map(str::to_owned),
            Target::Pods { .. } => |o: &Value| o["spec"]["nodeName"].as_str().map(str::to_owned),
        };
        let nodes: BTreeSet<String> = objects
            .iter()
            .filter_map(field)
            .filter(|n| !n.is_empty())
            .collect();
        let answers = futures::future::join_all(nodes.into_iter().map(|node| async move {
            let summary = self.summary_of(&node).await;
            (node, summary)
        }))
        .await;
        answers
            .into_iter()
            .filter_map(|(node, summary)| match summary {
                Ok(summary) => Some((node, summary)),
                Err(e) => {
                    tracing::debug!(node, "no resource metrics from the node: {e}");
                    None
                }
            })
            .collect()
    }

    async fn summary_of(&self, node: &str) -> Result<NodeSummary, ScrapeError> {
        let mut tunnel = self.tunnels.sender(node).ok_or(ScrapeError::NoTunnel)?;
        let request = Request::get(SUMMARY_PATH)
            .header(header::HOST, node)
            .body(TunnelRequestBody::new())?;
        let fetch = async {
            tunnel.ready().await?;
            let answer = tunnel.send_request(request).await?;
            if answer.status() != StatusCode::OK {
                return Err(ScrapeError::Status(answer.status()));
            }
            let body = Limited::new(answer.into_body(), MAX_SUMMARY)
                .collect()
                .await
                .map_err(|e| ScrapeError::Body(e.to_string()))?;
            Ok::<NodeSummary, ScrapeError>(serde_json::from_slice(&body.to_bytes())?)
        };
        tokio::time::timeout(SCRAPE_TIMEOUT, fetch)
            .await
            .map_err(|_| ScrapeError::Timeout)?
    }
}
