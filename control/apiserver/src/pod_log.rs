//! `pods/log`: kube-apiserver's `LogREST`. The container is picked and the options checked
//! here, then `GET /containerLogs/<ns>/<pod>/<container>?<options>` (the kubelet's path) goes
//! through the tunnel of the pod's node, with the pod's uid in `Skiff-Pod-Uid` (the
//! agent's sandbox id), and the answer streams back as it comes.

use std::convert::Infallible;
use std::time::Duration;

use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited, StreamBody};
use hyper::body::Incoming;
use serde_json::Value;
use skiff_api::status::{ApiError, FieldError};
use skiff_respond::Body;

use super::ApiServer;
use super::request::ResourceRequest;
use super::tunnels::TunnelRequestBody;

/// The agent must start answering within this (a followed log then streams for as long as
/// it lasts).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// Names the pod's uid (the agent's runtime sandbox id) to the agent.
const POD_UID_HEADER: &str = "skiff-pod-uid";
/// An agent's error text is read up to this size.
const MAX_ERROR: usize = 16 * 1024;

/// The container a log request is for: the one named, or the pod's only one.
fn pick_container(pod: &Value, pod_name: &str, asked: Option<&str>) -> Result<String, ApiError> {
    let names = |key: &str| -> Vec<String> {
        pod["spec"][key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(str::to_owned))
            .collect()
    };
    let containers = names("containers");
    let init = names("initContainers");
    let ephemeral = names("ephemeralContainers");
    if let Some(asked) = asked.filter(|c| !c.is_empty()) {
        let known = [&containers, &init, &ephemeral]
            .iter()
            .any(|list| list.iter().any(|c| c == asked));
        if !known {
            return Err(ApiError::bad_request(format!(
                "container {asked} is not valid for pod {pod_name}"
            )));
        }
        return Ok(asked.to_owned());
    }
    match containers.as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {pod_name}"
        ))),
        several => {
            let mut message = format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                several.join(" ")
            );
            if !init.is_empty() {
                message.push_str(&format!(
                    " or one of the init containers: [{}]",
                    init.join(" ")
                ));
            }
            Err(ApiError::bad_request(message))
        }
    }
}

/// The log options of `query`, checked as kube-apiserver checks `PodLogOptions`, as the
/// query to send the kubelet.
fn forwarded_query(query: &str, pod_name: &str) -> Result<String, ApiError> {
    let mut out = form_urlencoded::Serializer::new(String::new());
    let mut causes = Vec::new();
    let mut since = 0;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let minimum = match &*key {
            "follow" | "previous" | "timestamps" => {
                if !matches!(&*value, "true" | "false" | "1" | "0" | "") {
                    return Err(ApiError::bad_request(format!(
                        "invalid value {value:?} for {key}: must be true or false"
                    )));
                }
                out.append_pair(&key, &value);
                continue;
            }
            "sinceTime" => {
                since += 1;
                out.append_pair(&key, &value);
                continue;
            }
            "tailLines" => 0,
            "limitBytes" => 1,
            "sinceSeconds" => {
                since += 1;
                1
            }
            _ => continue,
        };
        let number: i64 = value.parse().map_err(|_| {
            ApiError::bad_request(format!("invalid value {value:?} for {key}: not an integer"))
        })?;
        if number < minimum {
            let rule = if minimum == 0 {
                "must be greater than or equal to 0"
            } else {
                "must be greater than 0"
            };
            causes.push(FieldError::invalid(
                key.to_string(),
                format!("Invalid value: {number}: {rule}"),
            ));
        }
        out.append_pair(&key, &value);
    }
    if since > 1 {
        causes.push(FieldError::forbidden(
            "sinceSeconds",
            "at most one of `sinceTime` or `sinceSeconds` may be specified",
        ));
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid("PodLogOptions", "", pod_name, causes));
    }
    Ok(out.finish())
}

/// An agent's refusal as the API server reports a kubelet's (kube's
/// `GenericHttpResponseChecker`).
async fn agent_error(status: StatusCode, body: Incoming) -> ApiError {
    let text = match Limited::new(body, MAX_ERROR).collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes())
            .trim()
            .to_owned(),
        Err(e) => format!("reading the node's answer: {e}"),
    };
    match status.as_u16() {
        400 => ApiError::bad_request(text),
        404 => ApiError::new(404, "NotFound", text),
        422 => ApiError::new(422, "Invalid", text),
        500 => ApiError::internal(text),
        code => ApiError::new(code, "InternalError", text),
    }
}

/// The agent's answer body, passed on frame by frame; it ends when the agent ends it or
/// the tunnel fails, and is dropped (resetting the agent's stream) when the client leaves.
fn relay(body: Incoming) -> Body {
    let frames = futures::stream::unfold(body, |mut body| async move {
        match body.frame().await? {
            Ok(frame) => Some((Ok::<_, Infallible>(frame), body)),
            Err(e) => {
                tracing::debug!("a node's log stream ended: {e}");
                None
            }
        }
    });
    StreamBody::new(frames).boxed_unsync()
}

impl ApiServer {
    /// `GET pods/<name>/log`, authorised already.
    pub(crate) async fn pod_log(
        &self,
        request: &ResourceRequest,
    ) -> Result<Response<Body>, ApiError> {
        let name = request.name.as_deref().unwrap_or_default();
        let namespace = request.namespace.as_deref().unwrap_or_default();
        let pod = self
            .objects
            .must_get(request.info, request.namespace.as_deref(), name)
            .await?;
        let container = pick_container(&pod, name, request.query.container.as_deref())?;
        let query = forwarded_query(&request.query.raw, name)?;
        let Some(node) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) else {
            // Not scheduled: nothing has run, so there is nothing to show (as kube answers).
            return Ok(skiff_respond::bytes(StatusCode::OK, "text/plain", ""));
        };
        let Some(mut tunnel) = self.tunnels.sender(node) else {
            return Err(ApiError::unavailable(format!(
                "logs of pod \"{name}\" are not available: node \"{node}\" has no tunnel to this API server (the node agent is down, starting, or cannot reach this replica)"
            )));
        };
        let path = format!("/containerLogs/{namespace}/{name}/{container}?{query}");
        let uid = pod["metadata"]["uid"].as_str().unwrap_or_default();
        let forward = Request::get(path)
            .header(header::HOST, node)
            .header(POD_UID_HEADER, uid)
            .body(TunnelRequestBody::new())
            .map_err(|e| ApiError::internal(format!("building the node request: {e}")))?;
        let lost = |e: hyper::Error| {
            ApiError::unavailable(format!("the tunnel of node \"{node}\" failed: {e}"))
        };
        let answer = tokio::time::timeout(ANSWER_TIMEOUT, async {
            tunnel.ready().await.map_err(lost)?;
            tunnel.send_request(forward).await.map_err(lost)
        })
        .await
        .map_err(|_| {
            ApiError::timeout(format!(
                "node \"{node}\" did not answer for the log within {ANSWER_TIMEOUT:?}"
            ))
        })??;
        let status = answer.status();
        if !status.is_success() {
            return Err(agent_error(status, answer.into_body()).await);
        }
        let mut response = Response::new(relay(answer.into_body()));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/plain"),
        );
        Ok(response)
    }
}

#[cfg(test)]
mod tests;
