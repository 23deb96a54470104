//! API objects in the store: JSON values under `/registry/...` keys, with `resourceVersion`
//! taken from the key's `mod_revision` on read and never stored, and store failures mapped to
//! Kubernetes `Status` errors.

use std::sync::Arc;

use serde_json::Value;
use skiff_api::resources::ResourceInfo;
use skiff_api::status::ApiError;

use skiff_replica::Replica;
use skiff_replica::ops::{Consistency, StoreReadError, WriteError};
use skiff_store::types::{FailureReason, KeyValue, Op, Request, Response, Txn};
use skiff_store::{ListOptions, ReadError};

/// Access to API objects through one replica.
#[derive(Clone)]
pub(crate) struct ObjectStore {
    pub replica: Arc<Replica>,
}

/// One page of a list: parsed objects, or their stored bytes (`KeyValue`).
pub(crate) struct ObjectPage<T = Value> {
    pub items: Vec<T>,
    pub revision: u64,
    /// The key to continue after, when more items follow.
    pub next_after: Option<String>,
}

pub(crate) fn read_error(e: StoreReadError) -> ApiError {
    match e {
        StoreReadError::Read(ReadError::Compacted {
            requested,
            compacted,
        }) => ApiError::expired(format!(
            "too old resource version: {requested} ({compacted})"
        )),
        StoreReadError::Read(ReadError::Future { requested, current }) => ApiError::timeout(
            format!("Too large resource version: {requested}, current resource version: {current}"),
        ),
        other => ApiError::unavailable(other.to_string()),
    }
}

/// 503 only when nothing was written (no leader); a write that may have been committed is
/// kube-apiserver's 504 Timeout, so a client can tell a safe retry from an unknown outcome.
fn write_error(e: WriteError) -> ApiError {
    match e {
        WriteError::Unknown(m) => {
            ApiError::timeout(format!("the outcome of the write is unknown: {m}"))
        }
        WriteError::Fatal(m) => ApiError::timeout(format!(
            "the outcome of the write is unknown: the store stopped: {m}"
        )),
        no_leader @ WriteError::NoLeader(_) => ApiError::unavailable(no_leader.to_string()),
    }
}

/// Parses the stored bytes and sets `metadata.resourceVersion`.
pub(crate) fn decode(kv: &KeyValue) -> Result<Value, ApiError> {
    let mut obj: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("stored object {} is not JSON: {e}", kv.key)))?;
    set_resource_version(&mut obj, kv.mod_revision);
    Ok(obj)
}

pub(crate) fn set_resource_version(obj: &mut Value, revision: u64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert(
            "resourceVersion".into(),
            Value::String(revision.to_string()),
        );
    }
}

/// The bytes to store: the object without `resourceVersion` (copied without it only when it
/// has one: a create's object never does).
pub(crate) fn encode(obj: &Value) -> Vec<u8> {
    if obj["metadata"].get("resourceVersion").is_none() {
        return serde_json::to_vec(obj).unwrap_or_default();
    }
    let mut copy = obj.clone();
    if let Some(meta) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    serde_json::to_vec(&copy).unwrap_or_default()
}

/// Consistency for a read carrying Kubernetes' `resourceVersion` parameter: "" is a quorum
/// read; anything else may be served from this replica.
pub(crate) fn consistency_for(resource_version: Option<&str>) -> Consistency {
    match resource_version {
        None | Some("") => Consistency::Linearizable,
        Some(_) => Consistency::Serializable,
    }
}

impl ObjectStore {
    pub(crate) async fn get(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
        consistency: Consistency,
    ) -> Result<Option<Value>, ApiError> {
        let kv = self.get_stored(info, namespace, name, consistency).await?;
        kv.as_ref().map(decode).transpose()
    }

    /// The stored bytes of an object, not parsed (`decode` parses them).
    pub(crate) async fn get_stored(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
        consistency: Consistency,
    ) -> Result<Option<KeyValue>, ApiError> {
        let key = info.key(namespace, name);
        let (kv, _) = self
            .replica
            .get(&key, None, consistency)
            .await
            .map_err(read_error)?;
        Ok(kv)
    }

    /// Like `get`, but a missing object is a NotFound error.
    pub(crate) async fn must_get(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        self.get(info, namespace, name, Consistency::Linearizable)
            .await?
            .ok_or_else(|| ApiError::not_found(&info.group_resource(), name))
    }

    pub(crate) async fn list(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        options: &ListOptions,
        consistency: Consistency,
    ) -> Result<ObjectPage, ApiError> {
        let page = self
            .list_stored(info, namespace, options, consistency)
            .await?;
        Ok(ObjectPage {
            items: page.items.iter().map(decode).collect::<Result<_, _>>()?,
            revision: page.revision,
            next_after: page.next_after,
        })
    }

    /// One page of stored objects, not parsed (`decode` parses them).
    pub(crate) async fn list_stored(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        options: &ListOptions,
        consistency: Consistency,
    ) -> Result<ObjectPage<KeyValue>, ApiError> {
        let prefix = info.namespace_prefix(namespace);
        let page = self
            .replica
            .list(&prefix, options, consistency)
            .await
            .map_err(read_error)?;
        let next_after = if page.more {
            page.kvs.last().map(|kv| kv.key.clone())
        } else {
            None
        };
        Ok(ObjectPage {
            items: page.kvs,
            revision: page.revision,
            next_after,
        })
    }

    /// Runs `txn` whose op 0 writes the object; maps failures of op 0 to the object's errors.
    /// Returns the new revision and the previous values.
    pub(crate) async fn commit(
        &self,
        info: &ResourceInfo,
        name: &str,
        txn: Txn,
    ) -> Result<(u64, Vec<Option<KeyValue>>), ApiError> {
        match self
            .replica
            .write(Request::Txn(txn))
            .await
            .map_err(write_error)?
        {
            Response::Committed { revision, prev } => Ok((revision, prev)),
            Response::Failed(f) if f.op_index == 0 => Err(match f.reason {
                FailureReason::AlreadyExists => {
                    ApiError::already_exists(&info.group_resource(), name)
                }
                FailureReason::NotFound => ApiError::not_found(&info.group_resource(), name),
                FailureReason::RevisionMismatch { current: None } => {
                    ApiError::not_found(&info.group_resource(), name)
                }
                FailureReason::RevisionMismatch { .. } => {
                    ApiError::conflict(&info.group_resource(), name)
                }
            }),
            Response::Failed(f) => Err(ApiError::new(
                409,
                "Conflict",
                format!(
                    "{} \"{name}\": a related record ({}) changed concurrently; retry",
                    info.group_resource(),
                    f.key
                ),
            )),
            other => Err(ApiError::internal(format!(
                "unexpected store answer {other:?}"
            ))),
        }
    }

    /// Stores a new object (plus `extra` ops in the same transaction) and returns it as stored.
    pub(crate) async fn create(
        &self,
        info: &ResourceInfo,
        mut obj: Value,
        extra: Vec<Op>,
    ) -> Result<Value, ApiError> {
        let (namespace, name) = namespace_and_name(&obj);
        let key = info.key(namespace.as_deref(), &name);
        let mut ops = vec![Op::create(key, encode(&obj))];
        ops.extend(extra);
        let (revision, _) = self.commit(info, &name, Txn { ops }).await?;
        set_resource_version(&mut obj, revision);
        Ok(obj)
    }

    /// Replaces an object whose stored revision must still be `expected`.
    pub(crate) async fn update(
        &self,
        info: &ResourceInfo,
        mut obj: Value,
        expected: u64,
        extra: Vec<Op>,
    ) -> Result<Value, ApiError> {
        let (namespace, name) = namespace_and_name(&obj);
        let key = info.key(namespace.as_deref(), &name);
        let mut ops = vec![Op::update(key, encode(&obj), expected)];
        ops.extend(extra);
        let (revision, _) = self.commit(info, &name, Txn { ops }).await?;
        set_resource_version(&mut obj, revision);
        Ok(obj)
    }

    /// Removes an object whose stored revision must still be `expected`; returns its last state.
    pub(crate) async fn remove(
        &self,
        info: &ResourceInfo,
        obj: &Value,
        expected: u64,
        extra: Vec<Op>,
    ) -> Result<Value, ApiError> {
        let (namespace, name) = namespace_and_name(obj);
        let key = info.key(namespace.as_deref(), &name);
        let mut ops = vec![Op::delete_at(key, expected)];
        ops.extend(extra);
        let (revision, _) = self.commit(info, &name, Txn { ops }).await?;
        let mut last = obj.clone();
        set_resource_version(&mut last, revision);
        Ok(last)
    }
}

/// `metadata.namespace` and `metadata.name` of an object.
pub(crate) fn namespace_and_name(obj: &Value) -> (Option<String>, String) {
    let meta = &obj["metadata"];
    let namespace = meta["namespace"].as_str().map(str::to_owned);
    let name = meta["name"].as_str().unwrap_or_default().to_owned();
    (namespace, name)
}

/// `metadata.resourceVersion` as a revision number.
pub(crate) fn resource_version(obj: &Value) -> Option<u64> {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
}
