//! `/kv/v1/*`: the store's own JSON API (admin only), shaped like etcd's JSON gateway so the
//! benchmark sends the same kind of request to both. Values are UTF-8 strings.
//!
//! - `POST put {"key","value"}` -> `{"revision"}`
//! - `POST range {"key","prefix"?,"serializable"?,"revision"?,"limit"?}` -> `{"revision","kvs","more"}`
//! - `POST txn {"ops":[{"op":"create|put|update|delete","key","value"?,"mod_revision"?}]}`
//!   -> `{"revision","prev"}`, or 409 `{"error":"AlreadyExists|NotFound|Conflict",..}`, or 503
//!   `{"error":"Unavailable"}` (nothing written) or `{"error":"OutcomeUnknown"}` (may have been)
//! - `POST compact {"revision"}` -> `{"compacted"}`
//! - `GET watch?prefix=P&after=R` -> newline-delimited JSON events; 410 when `R` is compacted.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use serde::{Deserialize, Serialize};

use skiff_replica::Replica;
use skiff_replica::ops::{Consistency, StoreReadError, WriteError};
use skiff_respond::{self as respond, Body, json, json_error};
use skiff_store::WatchError;
use skiff_store::types::{
    Event, EventKind, FailureReason, KeyValue, Op, Request as StoreRequest,
    Response as StoreResponse, Txn,
};
use skiff_store::{ListOptions, ReadError};

const MAX_KV_BODY: usize = 3 * 1024 * 1024;

#[derive(Serialize)]
struct JsonKv {
    key: String,
    value: String,
    create_revision: u64,
    mod_revision: u64,
    version: u64,
}

impl From<&KeyValue> for JsonKv {
    fn from(kv: &KeyValue) -> Self {
        JsonKv {
            key: kv.key.clone(),
            value: String::from_utf8_lossy(&kv.value).into_owned(),
            create_revision: kv.create_revision,
            mod_revision: kv.mod_revision,
            version: kv.version,
        }
    }
}

#[derive(Deserialize)]
struct PutBody {
    key: String,
    value: String,
}

#[derive(Deserialize)]
struct RangeBody {
    key: String,
    #[serde(default)]
    prefix: bool,
    #[serde(default)]
    serializable: bool,
    revision: Option<u64>,
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct TxnBody {
    ops: Vec<TxnOp>,
}

#[derive(Deserialize)]
struct TxnOp {
    op: String,
    key: String,
    value: Option<String>,
    mod_revision: Option<u64>,
}

#[derive(Deserialize)]
struct CompactBody {
    revision: u64,
}

pub(crate) async fn handle(
    replica: &Replica,
    rest: &str,
    request: Request<Incoming>,
) -> Response<Body> {
    if rest == "watch" && request.method() == Method::GET {
        return watch(replica, request.uri().query().unwrap_or_default());
    }
    if request.method() != Method::POST {
        return json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "use POST",
        );
    }
    let body = match respond::read_body(request.into_body(), MAX_KV_BODY).await {
        Ok(body) => body,
        Err(e) => return json_error(e.status(), "BadRequest", e),
    };
    match rest {
        "put" => match serde_json::from_slice::<PutBody>(&body) {
            Ok(b) => {
                write(
                    replica,
                    Txn {
                        ops: vec![Op::put(b.key, b.value.into_bytes())],
                    },
                )
                .await
            }
            Err(e) => json_error(StatusCode::BAD_REQUEST, "BadRequest", e),
        },
        "txn" => match serde_json::from_slice::<TxnBody>(&body)
            .map_err(|e| e.to_string())
            .and_then(to_txn)
        {
            Ok(txn) => write(replica, txn).await,
            Err(e) => json_error(StatusCode::BAD_REQUEST, "BadRequest", e),
        },
        "range" => match serde_json::from_slice::<RangeBody>(&body) {
            Ok(b) => range(replica, b).await,
            Err(e) => json_error(StatusCode::BAD_REQUEST, "BadRequest", e),
        },
        "compact" => match serde_json::from_slice::<CompactBody>(&body) {
            Ok(b) => compact(replica, b.revision).await,
            Err(e) => json_error(StatusCode::BAD_REQUEST, "BadRequest", e),
        },
        _ => json_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("no such KV endpoint: {rest}"),
        ),
    }
}

/// Compacts the store's history up to `revision`.
async fn compact(replica: &Replica, revision: u64) -> Response<Body> {
    match replica.write(StoreRequest::Compact { revision }).await {
        Ok(StoreResponse::Compacted { revision }) => json(
            StatusCode::OK,
            &serde_json::json!({ "compacted": revision }),
        ),
        Ok(other) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal",
            format!("{other:?}"),
        ),
        Err(e) => write_failed(e),
    }
}

fn to_txn(body: TxnBody) -> Result<Txn, String> {
    let mut ops = Vec::with_capacity(body.ops.len());
    for op in body.ops {
        let value = || {
            op.value
                .clone()
                .map(String::into_bytes)
                .ok_or_else(|| format!("{} needs a value", op.op))
        };
        let rev = || {
            op.mod_revision
                .ok_or_else(|| format!("{} needs a mod_revision", op.op))
        };
        ops.push(match op.op.as_str() {
            "create" => Op::create(op.key.clone(), value()?),
            "put" => Op::put(op.key.clone(), value()?),
            "update" => Op::update(op.key.clone(), value()?, rev()?),
            "delete" => match op.mod_revision {
                Some(r) => Op::delete_at(op.key.clone(), r),
                None => Op::delete(op.key.clone()),
            },
            other => {
                return Err(format!(
                    "unknown op {other:?}: use create, put, update or delete"
                ));
            }
        });
    }
    Ok(Txn { ops })
}

async fn write(replica: &Replica, txn: Txn) -> Response<Body> {
    match replica.write(StoreRequest::Txn(txn)).await {
        Ok(StoreResponse::Committed { revision, prev }) => {
            let prev: Vec<Option<JsonKv>> =
                prev.iter().map(|p| p.as_ref().map(JsonKv::from)).collect();
            json(
                StatusCode::OK,
                &serde_json::json!({ "revision": revision, "prev": prev }),
            )
        }
        Ok(StoreResponse::Failed(f)) => {
            let (error, current) = match f.reason {
                FailureReason::AlreadyExists => ("AlreadyExists", None),
                FailureReason::NotFound => ("NotFound", None),
                FailureReason::RevisionMismatch { current } => ("Conflict", current),
            };
            let body = serde_json::json!({
                "error": error, "key": f.key, "op_index": f.op_index,
                "current_mod_revision": current, "revision": f.revision,
            });
            json(StatusCode::CONFLICT, &body)
        }
        Ok(other) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal",
            format!("unexpected answer {other:?}"),
        ),
        Err(e) => write_failed(e),
    }
}

/// A write that did not get an answer from Raft. The `error` field says whether it may have
/// been applied: `Unavailable` (no leader; nothing was written), `OutcomeUnknown` (it may
/// or may not have been committed, like etcd's "request timed out"), `Stopped`.
fn write_failed(e: WriteError) -> Response<Body> {
    let kind = match &e {
        WriteError::NoLeader(_) => "Unavailable",
        WriteError::Unknown(_) => "OutcomeUnknown",
        WriteError::Fatal(_) => "Stopped",
    };
    json_error(StatusCode::SERVICE_UNAVAILABLE, kind, e)
}

async fn range(replica: &Replica, body: RangeBody) -> Response<Body> {
    let consistency = if body.serializable {
        Consistency::Serializable
    } else {
        Consistency::Linearizable
    };
    let result = if body.prefix {
        let options = ListOptions {
            revision: body.revision,
            start_after: None,
            limit: body.limit,
        };
        replica
            .list(&body.key, &options, consistency)
            .await
            .map(|page| (page.kvs, page.revision, page.more))
    } else {
        replica
            .get(&body.key, body.revision, consistency)
            .await
            .map(|(kv, rev)| (kv.into_iter().collect(), rev, false))
    };
    match result {
        Ok((kvs, revision, more)) => {
            let kvs: Vec<JsonKv> = kvs.iter().map(JsonKv::from).collect();
            json(
                StatusCode::OK,
                &serde_json::json!({ "revision": revision, "kvs": kvs, "more": more }),
            )
        }
        Err(StoreReadError::Read(ReadError::Compacted {
            requested,
            compacted,
        })) => json_error(
            StatusCode::GONE,
            "Expired",
            format!("revision {requested} is compacted (oldest readable: {compacted})"),
        ),
        Err(StoreReadError::Read(e @ ReadError::Future { .. })) => {
            json_error(StatusCode::BAD_REQUEST, "BadRequest", e)
        }
        Err(e) => json_error(StatusCode::SERVICE_UNAVAILABLE, "Unavailable", e),
    }
}

fn event_json(event: &Event) -> serde_json::Value {
    let kind = match event.kind {
        EventKind::Put => "PUT",
        EventKind::Delete => "DELETE",
    };
    serde_json::json!({
        "type": kind,
        "revision": event.revision(),
        "kv": JsonKv::from(&event.kv),
        "prev": event.prev.as_ref().map(JsonKv::from),
    })
}

fn watch(replica: &Replica, query: &str) -> Response<Body> {
    let mut prefix = String::new();
    let mut after = 0;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "prefix" => prefix = v.into_owned(),
            "after" => after = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    let watcher = match replica.watch(&prefix, after) {
        Ok(w) => w,
        Err(e @ WatchError::Expired { .. }) => return json_error(StatusCode::GONE, "Expired", e),
        Err(e) => return json_error(StatusCode::SERVICE_UNAVAILABLE, "Unavailable", e),
    };
    let stream = futures::stream::unfold(Some(watcher), |state| async move {
        let mut watcher = state?;
        let (line, next) = match watcher.next().await {
            Ok(event) => (event_json(&event), Some(watcher)),
            Err(WatchError::Expired { compacted, .. }) => (
                serde_json::json!({ "error": "Expired", "compacted": compacted }),
                None,
            ),
            Err(e) => (
                serde_json::json!({ "error": "Unavailable", "message": e.to_string() }),
                None,
            ),
        };
        let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
        bytes.push(b'\n');
        Some((Ok::<_, Infallible>(Frame::data(Bytes::from(bytes))), next))
    });
    let mut response = Response::new(StreamBody::new(stream).boxed_unsync());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-ndjson"),
    );
    response
}
