//! The API server benchmark (issue 3), driven by `api-bench`: pod creates through the
//! Kubernetes API next to same-sized creates through the store's own `/kv/v1/txn`, and watch
//! delivery latency to many concurrent watchers.
//!
//! - `writes`: closed-loop clients, one keep-alive HTTP/1.1 connection each (the store
//!   benchmark's [`crate::conn`]), `POST`ing a minimal Pod (expect 201) or a one-op create
//!   transaction (expect 200) whose value is as long as the pod skiff stores.
//! - `watch`: many watches multiplexed over a few HTTP/2 connections ([`h2`]), held by a child
//!   process (`watchers`), and one writer updating a ConfigMap at a modest rate.
//! - `codec`: issue 18's protobuf against JSON Pod creates and lists (`codec-bench`).
//! - `report`: the JSON-lines records and the tables with the issue's targets.

pub mod codec;
pub mod h2;
pub mod report;
pub mod watch;
pub mod watchers;
pub mod writes;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::conn::Endpoint;

/// Where pods are created.
pub const POD_PATH: &str = "/api/v1/namespaces/default/pods";
/// Where the raw store's creates go.
pub const TXN_PATH: &str = "/kv/v1/txn";
/// Storage key prefix of the default namespace's pods (skiff's `/registry` layout).
pub const POD_KEY_PREFIX: &str = "/registry/core/pods/default/";
/// Where the watch benchmark's ConfigMaps live.
pub const CONFIGMAP_PATH: &str = "/api/v1/namespaces/default/configmaps";

/// What a write run drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// `POST /api/v1/namespaces/default/pods` (the Kubernetes API).
    Api,
    /// `POST /kv/v1/txn` with one create op (the raw store).
    Store,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Api => "api",
            Target::Store => "store",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Target::Api => POD_PATH,
            Target::Store => TXN_PATH,
        }
    }

    /// Client `client`'s `n`th create; `value` is the store's value (unused for the API).
    pub fn body(self, client: usize, n: u64, value: &str) -> Bytes {
        match self {
            Target::Api => pod_body(&pod_name(client, n)),
            Target::Store => Bytes::from(format!(
                r#"{{"ops":[{{"op":"create","key":"/bench/api/c{client}/{n}","value":"{value}"}}]}}"#
            )),
        }
    }

    /// A create succeeded: 201 from the API server, 200 with a revision from the store.
    pub fn created(self, status: u16, body: &[u8]) -> bool {
        match self {
            Target::Api => status == 201,
            Target::Store => status == 200 && body.windows(8).any(|w| w == b"revision"),
        }
    }
}

/// `p-<client>-<n>`, as the issue names them.
pub fn pod_name(client: usize, n: u64) -> String {
    format!("p-{client}-{n}")
}

/// The minimal Pod of the issue.
pub fn pod_body(name: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}"}},"spec":{{"containers":[{{"name":"c","image":"hello.wasm"}}]}}}}"#
    ))
}

/// An ASCII value of `size` bytes for the store's creates.
pub fn store_value(size: usize) -> String {
    crate::target::value(0, 0, size)
}

/// Creates the pod `name` through the API and returns how many bytes skiff stored for it
/// (read back raw through `/kv/v1/range`), so the store runs can write values that long.
pub async fn stored_pod_size(ep: &Endpoint, name: &str) -> Result<usize> {
    let mut conn = ep.connect().await?;
    // A fresh replica creates the `default` namespace a moment after it answers: retry 404s.
    let mut tries = 0;
    let (status, body) = loop {
        let (status, body) = conn.post(POD_PATH, pod_body(name)).await?;
        tries += 1;
        if status.as_u16() != 404 || tries >= 100 {
            break (status, body);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    if status.as_u16() != 201 {
        bail!(
            "create pod {name}: {status} {}",
            String::from_utf8_lossy(&body)
        );
    }
    let key = format!("{POD_KEY_PREFIX}{name}");
    let range = serde_json::json!({ "key": key }).to_string();
    let (status, body) = conn.post("/kv/v1/range", Bytes::from(range)).await?;
    if !status.is_success() {
        bail!("range {key}: {status} {}", String::from_utf8_lossy(&body));
    }
    let v: serde_json::Value = serde_json::from_slice(&body)?;
    let value = v["kvs"][0]["value"]
        .as_str()
        .with_context(|| format!("no stored value under {key}: {v}"))?;
    Ok(value.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_parse() {
        let pod: serde_json::Value = serde_json::from_slice(&pod_body(&pod_name(3, 7))).unwrap();
        assert_eq!(pod["metadata"]["name"], "p-3-7");
        assert_eq!(pod["spec"]["containers"][0]["image"], "hello.wasm");
        let v = store_value(300);
        let txn: serde_json::Value = serde_json::from_slice(&Target::Store.body(3, 7, &v)).unwrap();
        assert_eq!(txn["ops"][0]["op"], "create");
        assert_eq!(txn["ops"][0]["value"].as_str().unwrap().len(), 300);
        assert!(Target::Store.created(200, br#"{"revision":9,"prev":[null]}"#));
        assert!(!Target::Store.created(409, br#"{"error":"AlreadyExists"}"#));
        assert!(Target::Api.created(201, b"{}"));
    }
}
