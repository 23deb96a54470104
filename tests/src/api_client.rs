//! [`ApiClient`]: plain HTTPS requests to a replica's Kubernetes API with any (or no) bearer
//! token and any body, for tests that check status codes and `Status` bodies byte by byte.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::Value;

use crate::process::Replica;

/// Longer than the server's own leader wait (10 s) plus one forwarded call (8 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(25);

/// One answer: the status code and the body (parsed as JSON when it is JSON, else a string).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    /// Requires `status` and a `kind: Status` body with `code` = `status` and `reason`;
    /// returns the message.
    pub fn expect_status(&self, status: u16, reason: &str) -> anyhow::Result<String> {
        ensure!(
            self.status.as_u16() == status,
            "expected {status} {reason}, got {} {}",
            self.status,
            self.body
        );
        ensure!(
            self.body["kind"] == "Status"
                && self.body["apiVersion"] == "v1"
                && self.body["status"] == "Failure"
                && self.body["code"] == status
                && self.body["reason"] == reason,
            "expected a Status with code {status} and reason {reason}, got {}",
            self.body
        );
        Ok(self.body["message"].as_str().unwrap_or_default().to_owned())
    }

    /// Requires a 2xx answer; returns the body.
    pub fn ok(self) -> anyhow::Result<Value> {
        ensure!(
            self.status.is_success(),
            "expected success, got {} {}",
            self.status,
            self.body
        );
        Ok(self.body)
    }
}

/// One answer as bytes, with its `Content-Type`.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: StatusCode,
    pub content_type: String,
    /// The answer's `Location` header, if any (a registry upload's next URL).
    pub location: Option<String>,
    pub body: Bytes,
}

#[derive(Clone)]
pub struct ApiClient {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    pub base: String,
    token: Option<Arc<str>>,
}

impl ApiClient {
    pub fn new(base: &str, token: Option<&str>, ca_pem: &[u8]) -> anyhow::Result<ApiClient> {
        Ok(ApiClient {
            http: crate::client::https_client(ca_pem)?,
            base: base.trim_end_matches('/').to_owned(),
            token: token.map(Into::into),
        })
    }

    /// The admin of `replica` (its admin token and the cluster CA).
    pub fn admin(replica: &Replica) -> anyhow::Result<ApiClient> {
        let token = std::fs::read_to_string(replica.data_dir.join("admin-token"))?;
        ApiClient::with_token(replica, Some(token.trim()))
    }

    /// A client of `replica` sending `token` (or none).
    pub fn with_token(replica: &Replica, token: Option<&str>) -> anyhow::Result<ApiClient> {
        let ca = std::fs::read(replica.data_dir.join("pki/ca.crt"))?;
        ApiClient::new(&replica.url(), token, &ca)
    }

    /// Sends `body` with `content_type`; any status is an `Ok` answer.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: impl Into<Bytes>,
    ) -> anyhow::Result<Answer> {
        let raw = self
            .send_raw(method, path, content_type, "application/json", body)
            .await?;
        let body = serde_json::from_slice(&raw.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&raw.body).into()));
        Ok(Answer {
            status: raw.status,
            body,
        })
    }

    /// Sends `body` with `content_type`, asking for `accept`; the answer's bytes as they came
    /// (for protobuf).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        accept: &str,
        body: impl Into<Bytes>,
    ) -> anyhow::Result<RawAnswer> {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.base))
            .header(http::header::CONTENT_TYPE, content_type)
            .header(http::header::ACCEPT, accept);
        if let Some(token) = &self.token {
            request = request.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request.body(Full::new(body.into()))?;
        let exchange = async {
            let response = self.http.request(request).await?;
            let status = response.status();
            let content_type = response
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let location = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok(RawAnswer {
                status,
                content_type,
                location,
                body,
            })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .with_context(|| format!("{method} {path}: no answer within {REQUEST_TIMEOUT:?}"))?
            .with_context(|| format!("{method} {path}"))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Answer> {
        self.send(Method::GET, path, "application/json", Bytes::new())
            .await
    }

    /// The value of the Prometheus sample `name` (with its labels, if any) at `/metrics`.
    pub async fn metric(&self, name: &str) -> anyhow::Result<u64> {
        let metrics = self.get("/metrics").await?.ok()?;
        let text = metrics.as_str().context("/metrics is not text")?;
        let value = text
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .with_context(|| format!("no {name} in /metrics:\n{text}"))?;
        Ok(value.trim().parse()?)
    }

    /// POST/PUT/PATCH... of a JSON value.
    pub async fn json(&self, method: Method, path: &str, body: &Value) -> anyhow::Result<Answer> {
        self.send(method, path, "application/json", body.to_string())
            .await
    }

    /// PATCH with a merge patch.
    pub async fn merge_patch(&self, path: &str, body: &Value) -> anyhow::Result<Answer> {
        self.send(
            Method::PATCH,
            path,
            "application/merge-patch+json",
            body.to_string(),
        )
        .await
    }
}
