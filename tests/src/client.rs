//! [`KvClient`]: the `/kv/v1/*` JSON API of one replica over HTTPS, trusting the cluster CA
//! (rustls with the ring provider) and sending the admin bearer token.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::kv::{KvError, RangeResult, WatchStream};

/// Longer than the server's own leader wait (10 s) plus one forwarded call (8 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(25);

/// A pooled HTTPS client (HTTP/1.1) trusting only the cluster CA in `ca_pem`.
pub fn https_client(
    ca_pem: &[u8],
) -> anyhow::Result<Client<HttpsConnector<HttpConnector>, Full<Bytes>>> {
    https_client_for(ca_pem, false)
}

/// Like [`https_client`], but speaking only HTTP/2 (negotiated by ALPN).
pub fn https_client_h2(
    ca_pem: &[u8],
) -> anyhow::Result<Client<HttpsConnector<HttpConnector>, Full<Bytes>>> {
    https_client_for(ca_pem, true)
}

fn https_client_for(
    ca_pem: &[u8],
    http2: bool,
) -> anyhow::Result<Client<HttpsConnector<HttpConnector>, Full<Bytes>>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &*ca_pem) {
        roots.add(cert.context("reading the cluster CA")?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut connector = HttpConnector::new();
    connector.enforce_http(false);
    connector.set_connect_timeout(Some(Duration::from_secs(3)));
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only();
    let https = if http2 {
        builder.enable_http2().wrap_connector(connector)
    } else {
        builder.enable_http1().wrap_connector(connector)
    };
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(10))
        .http2_only(http2)
        .build(https))
}

#[derive(Clone)]
pub struct KvClient {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    pub base: String,
    token: Arc<str>,
}

impl KvClient {
    pub fn new(base: &str, token: &str, ca_pem: &[u8]) -> anyhow::Result<KvClient> {
        let http = https_client(ca_pem)?;
        Ok(KvClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: token.into(),
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, KvError> {
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", self.token),
            )
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(bytes))
            .map_err(|e| KvError::Transport(e.to_string()))?;
        match tokio::time::timeout(REQUEST_TIMEOUT, self.http.request(request)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) if e.is_connect() => Err(KvError::Refused(format!("{e:?}"))),
            Ok(Err(e)) => Err(KvError::Transport(format!("{e:?}"))),
            Err(_) => Err(KvError::Transport(format!(
                "no answer within {REQUEST_TIMEOUT:?}"
            ))),
        }
    }

    /// POSTs `body` to `/kv/v1/<op>`; a non-2xx answer is `KvError::Status`.
    pub async fn call(&self, op: &str, body: Value) -> Result<Value, KvError> {
        let response = self
            .send(Method::POST, &format!("/kv/v1/{op}"), Some(body))
            .await?;
        let status = response.status();
        let read = tokio::time::timeout(REQUEST_TIMEOUT, response.into_body().collect()).await;
        let bytes = match read {
            Ok(Ok(b)) => b.to_bytes(),
            Ok(Err(e)) => return Err(KvError::Transport(format!("reading the answer: {e}"))),
            Err(_) => return Err(KvError::Transport("answer body timed out".into())),
        };
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        if status.is_success() {
            Ok(value)
        } else {
            Err(KvError::Status(status, value))
        }
    }

    /// `put`; returns the revision.
    pub async fn put(&self, key: &str, value: &str) -> Result<u64, KvError> {
        let answer = self
            .call("put", json!({ "key": key, "value": value }))
            .await?;
        revision_of(&answer)
    }

    /// A transaction of `ops` (each `{"op","key","value"?,"mod_revision"?}`); returns the revision.
    pub async fn txn(&self, ops: Value) -> Result<u64, KvError> {
        let answer = self.call("txn", json!({ "ops": ops })).await?;
        revision_of(&answer)
    }

    pub async fn create(&self, key: &str, value: &str) -> Result<u64, KvError> {
        self.txn(json!([{ "op": "create", "key": key, "value": value }]))
            .await
    }

    pub async fn update(&self, key: &str, value: &str, mod_revision: u64) -> Result<u64, KvError> {
        self.txn(
            json!([{ "op": "update", "key": key, "value": value, "mod_revision": mod_revision }]),
        )
        .await
    }

    /// One key (`prefix: false`) or every key under a prefix.
    pub async fn range(
        &self,
        key: &str,
        prefix: bool,
        serializable: bool,
        revision: Option<u64>,
    ) -> Result<RangeResult, KvError> {
        let mut body = json!({ "key": key, "prefix": prefix, "serializable": serializable });
        if let Some(rev) = revision {
            body["revision"] = json!(rev);
        }
        let answer = self.call("range", body).await?;
        serde_json::from_value(answer.clone())
            .map_err(|e| KvError::Transport(format!("bad range answer {answer}: {e}")))
    }

    pub async fn compact(&self, revision: u64) -> Result<Value, KvError> {
        self.call("compact", json!({ "revision": revision })).await
    }

    /// The leader id `/readyz` reports, or `None` when it has none or does not answer.
    pub async fn leader(&self) -> Option<u64> {
        let response = self.send(Method::GET, "/readyz", None).await.ok()?;
        if response.status() != StatusCode::OK {
            return None;
        }
        let body = response.into_body().collect().await.ok()?.to_bytes();
        let text = String::from_utf8_lossy(&body);
        let hex = text.trim().strip_prefix("ok (leader ")?.strip_suffix(')')?;
        u64::from_str_radix(hex, 16).ok()
    }

    /// `GET /kv/v1/watch?prefix=P&after=R`: the open stream, or the error status (410 when
    /// `after` is compacted).
    pub async fn watch(&self, prefix: &str, after: u64) -> Result<WatchStream, KvError> {
        let path = format!("/kv/v1/watch?prefix={}&after={after}", encode(prefix));
        let response = self.send(Method::GET, &path, None).await?;
        let status = response.status();
        if !status.is_success() {
            let bytes = response
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            return Err(KvError::Status(
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            ));
        }
        Ok(WatchStream::new(response.into_body()))
    }
}

fn revision_of(answer: &Value) -> Result<u64, KvError> {
    answer
        .get("revision")
        .and_then(Value::as_u64)
        .ok_or_else(|| KvError::Transport(format!("no revision in {answer}")))
}

/// Percent-encodes a query value (keys in tests are ASCII; encode everything but unreserved).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
