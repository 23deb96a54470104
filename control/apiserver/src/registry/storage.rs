//! [`ReplicaStorage`], the registry's `Storage`: metadata read from and written to the
//! replica's store, one op per transaction; blob files go through `registry_peers`.

use std::sync::Arc;

use skiff_registry::{Freshness, StorageError, Stored};
use skiff_replica::Replica;
use skiff_replica::ops::Consistency;
use skiff_store::ListOptions;
use skiff_store::types::{Op, Request as StoreRequest, Response as StoreResponse, Txn};

/// The registry's storage: metadata in the replica's store (writes through Raft), blob files
/// sent to and fetched from the other replicas (`registry_peers`).
#[derive(Clone)]
pub(crate) struct ReplicaStorage {
    pub(crate) replica: Arc<Replica>,
    /// Own the blob sends still running after a push's quorum answered.
    pub(crate) tasks: tokio_util::task::TaskTracker,
    pub(crate) shutdown: tokio_util::sync::CancellationToken,
}

impl skiff_registry::Storage for ReplicaStorage {
    async fn get(&self, key: &str, freshness: Freshness) -> Result<Option<Stored>, StorageError> {
        let consistency = match freshness {
            Freshness::Latest => Consistency::Linearizable,
            Freshness::Local => Consistency::Serializable,
        };
        let (kv, _) = self
            .replica
            .get(key, None, consistency)
            .await
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        Ok(kv.map(|kv| Stored {
            key: kv.key,
            value: kv.value,
            revision: kv.mod_revision,
        }))
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Stored>, StorageError> {
        let options = ListOptions {
            revision: None,
            start_after: start_after.map(str::to_owned),
            limit: Some(limit),
        };
        let page = self
            .replica
            .list(prefix, &options, Consistency::Linearizable)
            .await
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        Ok(page
            .kvs
            .into_iter()
            .map(|kv| Stored {
                key: kv.key,
                value: kv.value,
                revision: kv.mod_revision,
            })
            .collect())
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
        self.commit(Op::put(key, value)).await.map(|_| ())
    }

    async fn delete(&self, key: &str, if_revision: Option<u64>) -> Result<bool, StorageError> {
        let op = match if_revision {
            Some(revision) => Op::delete_at(key, revision),
            None => Op::delete(key),
        };
        self.commit(op).await
    }

    async fn replicate(
        &self,
        feed: skiff_registry::feed::Feed,
    ) -> Result<Vec<String>, StorageError> {
        self.replicate_to_quorum(feed).await
    }

    async fn fetch(
        &self,
        digest: &skiff_registry::Digest,
        holders: &[String],
    ) -> Result<Option<bytes::Bytes>, StorageError> {
        self.fetch_from_peers(digest, holders).await
    }
}

impl ReplicaStorage {
    /// Commits one op; `Ok(false)` when its precondition failed.
    async fn commit(&self, op: Op) -> Result<bool, StorageError> {
        let request = StoreRequest::Txn(Txn { ops: vec![op] });
        match self.replica.write(request).await {
            Ok(StoreResponse::Committed { .. }) => Ok(true),
            Ok(StoreResponse::Failed(_)) => Ok(false),
            Ok(other) => Err(StorageError::Unavailable(format!(
                "unexpected store answer {other:?}"
            ))),
            Err(e) => Err(StorageError::Unavailable(e.to_string())),
        }
    }
}
