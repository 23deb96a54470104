//! openraft's network for skiff: append-entries and votes go over pooled raft streams
//! (`replica::stream`), snapshots and leadership transfer are `PeerClient` HTTP calls to the
//! target's `/raft/*` endpoints. Connection failures become `Unreachable` so openraft backs off.

use std::future::Future;
use std::time::Duration;

use openraft::OptionalSend;
use openraft::errors::{
    NetworkError, RPCError, RaftError, ReplicationClosed, StreamingError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetworkFactory, v2::RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};

use super::peer_client::{PeerClient, PeerError};
use super::stream::Kind;
use skiff_store::SnapshotData;
use skiff_store::types::{NodeId, PeerNode, TypeConfig};
use skiff_store::{Snapshot, SnapshotMeta};

type Vote = openraft::alias::VoteOf<TypeConfig>;

pub(crate) const PATH_SNAPSHOT: &str = "/raft/snapshot";
pub(crate) const PATH_TRANSFER_LEADER: &str = "/raft/transfer-leader";

/// The body of a snapshot transfer.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct SnapshotTransfer {
    pub vote: Vote,
    pub meta: SnapshotMeta,
    #[serde(with = "serde_bytes")]
    pub data: SnapshotData,
}

#[derive(Clone)]
pub(crate) struct Network {
    pub client: PeerClient,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: NodeId, node: &PeerNode) -> PeerConnection {
        PeerConnection {
            client: self.client.clone(),
            target,
            addr: node.addr.clone(),
        }
    }
}

pub(crate) struct PeerConnection {
    client: PeerClient,
    target: NodeId,
    addr: String,
}

impl PeerConnection {
    /// An RPC over HTTP (snapshots, leadership transfer).
    async fn rpc<Req, Resp>(
        &self,
        path: &str,
        req: &Req,
        timeout: Duration,
    ) -> Result<Resp, RPCError<TypeConfig>>
    where
        Req: serde::Serialize,
        Resp: serde::de::DeserializeOwned,
    {
        self.settle(self.client.call(&self.addr, path, req, timeout).await)
    }

    /// An RPC over a raft stream (append-entries, votes).
    async fn stream_rpc<Req, Resp>(
        &self,
        kind: Kind,
        req: &Req,
        timeout: Duration,
    ) -> Result<Resp, RPCError<TypeConfig>>
    where
        Req: serde::Serialize,
        Resp: serde::de::DeserializeOwned,
    {
        self.settle(
            self.client
                .streams()
                .call(&self.addr, kind, req, timeout)
                .await,
        )
    }

    /// Turns a transport result carrying the peer's own result into openraft's error shape.
    fn settle<Resp>(
        &self,
        answer: Result<Result<Resp, RaftError<TypeConfig>>, PeerError>,
    ) -> Result<Resp, RPCError<TypeConfig>> {
        answer
            .map_err(|e| to_rpc_error(self.target, e))?
            .map_err(|e| {
                RPCError::Network(NetworkError::from_string(format!(
                    "peer {}: {e}",
                    self.target
                )))
            })
    }
}

fn to_rpc_error(target: NodeId, e: PeerError) -> RPCError<TypeConfig> {
    let text = format!("replica {target}: {e}");
    match e {
        PeerError::Unreachable { .. } | PeerError::Rejected { .. } => {
            RPCError::Unreachable(Unreachable::from_string(text))
        }
        PeerError::Timeout { .. } | PeerError::Malformed { .. } => {
            RPCError::Network(NetworkError::from_string(text))
        }
    }
}

impl RaftNetworkV2<TypeConfig> for PeerConnection {
    type SnapshotData = SnapshotData;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.stream_rpc(Kind::Append, &rpc, option.hard_ttl()).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.stream_rpc(Kind::Vote, &rpc, option.hard_ttl()).await
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.stream_rpc(Kind::PreVote, &rpc, option.hard_ttl())
            .await
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let transfer = SnapshotTransfer {
            vote,
            meta: snapshot.meta,
            data: snapshot.snapshot,
        };
        // A snapshot can be large; give it far longer than a heartbeat.
        let send = self.rpc(PATH_SNAPSHOT, &transfer, Duration::from_secs(120));
        tokio::pin!(cancel);
        tokio::select! {
            closed = &mut cancel => Err(StreamingError::Closed(closed)),
            answer = send => Ok(answer?),
        }
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(PATH_TRANSFER_LEADER, &req, option.hard_ttl())
            .await
    }
}
