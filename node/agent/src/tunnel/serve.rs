//! What the agent answers on a tunnel: `GET /containerLogs/<namespace>/<pod>/<container>`
//! (the kubelet's path and query, plus the pod's uid in `Skiff-Pod-Uid`), `GET
//! /stats/summary` (the node's resource metrics, JSON), `GET /metrics` (Prometheus), `GET
//! /healthz`, and `POST
//! /portForward/<namespace>/<pod>/<port>` (`port_forward`); anything else is 404.

use super::options::LogOptions;
use super::port_forward::{self, PORT_FORWARD_PREFIX, PodPorts};
use super::render::{Renderer, tail_start};
use super::source::{ContainerLogs, LogLookupError, POD_UID_HEADER, PodKey};
use crate::metrics::NodeStatsSource;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use skiff_api::metrics::exposition::CONTENT_TYPE;
use skiff_api::metrics::{AGENT_METRICS_PATH, SUMMARY_PATH};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::SystemTime;
use tokio_util::sync::CancellationToken;

/// The body of every tunnel answer.
pub type TunnelBody = UnsyncBoxBody<Bytes, Infallible>;

/// Entries written at once are sent as one frame, up to this many.
const ENTRIES_PER_FRAME: usize = 256;

pub(super) fn text(status: StatusCode, message: impl Into<String>) -> Response<TunnelBody> {
    let mut message = message.into();
    message.push('\n');
    let mut response = Response::new(Full::new(Bytes::from(message)).boxed_unsync());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// What a tunnel serves.
pub struct Served {
    pub logs: Arc<dyn ContainerLogs>,
    /// `None`: `/stats/summary` is not served (404).
    pub stats: Option<Arc<dyn NodeStatsSource>>,
    /// `None`: port-forward is not served (404).
    pub ports: Option<Arc<dyn PodPorts>>,
}

/// Answers one request that arrived over a tunnel: port-forward connections, which take the
/// request body, and the GETs ([`answer`]).
pub async fn route(
    request: Request<Incoming>,
    served: &Served,
    shutdown: &CancellationToken,
) -> Response<TunnelBody> {
    if request.method() == Method::POST && request.uri().path().starts_with(PORT_FORWARD_PREFIX) {
        return port_forward::answer(request, served.ports.as_ref(), shutdown).await;
    }
    answer(&request, served, shutdown)
}

/// `GET /stats/summary`: the latest window's summary, or 503 until there is one.
fn stats_summary(stats: Option<&Arc<dyn NodeStatsSource>>) -> Response<TunnelBody> {
    let Some(stats) = stats else {
        return text(
            StatusCode::NOT_FOUND,
            "resource metrics are not served here",
        );
    };
    let Some(summary) = stats.summary() else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "resource metrics are not collected yet",
        );
    };
    match serde_json::to_vec(&summary) {
        Ok(json) => {
            let mut response = Response::new(Full::new(Bytes::from(json)).boxed_unsync());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `GET /metrics`: the node's Prometheus page.
fn metrics_page(stats: Option<&Arc<dyn NodeStatsSource>>) -> Response<TunnelBody> {
    let Some(stats) = stats else {
        return text(StatusCode::NOT_FOUND, "metrics are not served here");
    };
    let mut response = Response::new(Full::new(Bytes::from(stats.metrics_page())).boxed_unsync());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(CONTENT_TYPE),
    );
    response
}

/// Answers one request that arrived over a tunnel; `shutdown` ends followed logs.
pub fn answer<B>(
    request: &Request<B>,
    served: &Served,
    shutdown: &CancellationToken,
) -> Response<TunnelBody> {
    if request.method() != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET is served");
    }
    let path = request.uri().path();
    if path == "/healthz" {
        return text(StatusCode::OK, "ok");
    }
    if path == SUMMARY_PATH {
        return stats_summary(served.stats.as_ref());
    }
    if path == AGENT_METRICS_PATH {
        return metrics_page(served.stats.as_ref());
    }
    let logs = &served.logs;
    let target = path.strip_prefix("/containerLogs/").map(|rest| {
        let parts: Vec<&str> = rest.split('/').collect();
        parts
    });
    let Some([namespace, pod, container]) = target.as_deref() else {
        return text(StatusCode::NOT_FOUND, format!("{path} is not served here"));
    };
    let query = request.uri().query().unwrap_or_default();
    let options = match LogOptions::parse(query, SystemTime::now()) {
        Ok(options) => options,
        Err(e) => return text(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    };
    let uid = request
        .headers()
        .get(POD_UID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let key = PodKey {
        namespace,
        name: pod,
        uid,
    };
    match log_body(key, container, options, logs, shutdown) {
        Ok(body) => {
            let mut response = Response::new(body);
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain"),
            );
            response
        }
        Err((status, message)) => text(status, message),
    }
}

/// The answer to a log request for `container` of `pod`, or why there is none.
fn log_body(
    pod: PodKey<'_>,
    container: &str,
    options: LogOptions,
    logs: &Arc<dyn ContainerLogs>,
    shutdown: &CancellationToken,
) -> Result<TunnelBody, (StatusCode, String)> {
    let refused = |e: LogLookupError| (e.status(), e.to_string());
    if pod.uid.is_empty() {
        return Err(refused(LogLookupError::NoUid {
            pod: pod.name.to_owned(),
        }));
    }
    let log = logs
        .container_log(pod, container, options.previous)
        .map_err(refused)?;
    if options.follow {
        let (history, live) = log.entries_and_follow(shutdown.clone().cancelled_owned());
        return Ok(stream_body(history, live, options));
    }
    let entries = log
        .entries()
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let from = tail_start(&entries, options.tail_lines);
    let bytes = Renderer::new(&options).render(&entries[from..]);
    Ok(Full::new(Bytes::from(bytes)).boxed_unsync())
}

/// The history (tail applied), then every entry as it is written, until the log ends,
/// the byte limit is reached, or the tunnel shuts down.
fn stream_body(
    history: Vec<skiff_runtime_wasm::logs::LogEntry>,
    live: impl Stream<Item = skiff_runtime_wasm::logs::LogEntry> + Send + 'static,
    options: LogOptions,
) -> TunnelBody {
    let mut renderer = Renderer::new(&options);
    let from = tail_start(&history, options.tail_lines);
    let first = renderer.render(&history[from..]);
    let batches = live.ready_chunks(ENTRIES_PER_FRAME);
    let state = (renderer, Box::pin(batches), Some(first));
    let frames = futures::stream::unfold(state, |(mut renderer, mut batches, first)| async move {
        if let Some(first) = first.filter(|b| !b.is_empty()) {
            return Some((Bytes::from(first), (renderer, batches, None)));
        }
        loop {
            if renderer.is_done() {
                return None;
            }
            let batch = batches.next().await?;
            let bytes = renderer.render(&batch);
            if !bytes.is_empty() {
                return Some((Bytes::from(bytes), (renderer, batches, None)));
            }
        }
    });
    let frames = frames.map(|bytes| Ok::<_, Infallible>(Frame::data(bytes)));
    StreamBody::new(frames).boxed_unsync()
}
