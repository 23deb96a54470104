//! The server half of replica-to-replica traffic: decodes `/raft/*` bodies, hands them to the
//! local Raft node or store, and encodes the answer. Callers were authenticated by the router.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Replica;
use super::network::{PATH_SNAPSHOT, PATH_TRANSFER_LEADER, SnapshotTransfer};
use super::ops::{AddReplica, PATH_ADD_REPLICA, PATH_READ_INDEX, PATH_WRITE};
use super::peer_client::MAX_PEER_BODY;
use skiff_respond::{self as respond, Body};
use skiff_store::Snapshot;
use skiff_store::codec;
use skiff_store::types::Request as StoreRequest;

fn decode<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Box<Response<Body>>> {
    codec::decode(bytes).map_err(|e| {
        let message = format!("malformed peer request: {e}");
        Box::new(respond::text(StatusCode::BAD_REQUEST, message))
    })
}

fn answer<T: Serialize>(value: &T) -> Response<Body> {
    respond::bytes(
        StatusCode::OK,
        "application/octet-stream",
        codec::encode(value),
    )
}

pub async fn handle(replica: &Replica, path: &str, request: Request<Incoming>) -> Response<Body> {
    let body = match respond::read_body(request.into_body(), MAX_PEER_BODY).await {
        Ok(body) => body,
        Err(e) => return respond::text(e.status(), e.to_string()),
    };
    match dispatch(replica, path, &body).await {
        Ok(response) => response,
        Err(refusal) => *refusal,
    }
}

async fn dispatch(
    replica: &Replica,
    path: &str,
    body: &Bytes,
) -> Result<Response<Body>, Box<Response<Body>>> {
    let raft = &replica.raft;
    Ok(match path {
        PATH_TRANSFER_LEADER => answer(&raft.handle_transfer_leader(decode(body)?).await),
        PATH_SNAPSHOT => {
            let transfer: SnapshotTransfer = decode(body)?;
            let snapshot = Snapshot {
                meta: transfer.meta,
                snapshot: transfer.data,
            };
            let result = raft
                .install_full_snapshot(transfer.vote, snapshot)
                .await
                .map_err(openraft::errors::RaftError::<_>::Fatal);
            answer(&result)
        }
        PATH_WRITE => {
            let request: StoreRequest = decode(body)?;
            answer(&replica.write_as_leader(request).await)
        }
        PATH_READ_INDEX => answer(&replica.read_index_as_leader().await),
        PATH_ADD_REPLICA => {
            let request: AddReplica = decode(body)?;
            answer(&replica.add_replica(request).await)
        }
        _ => respond::text(
            StatusCode::NOT_FOUND,
            format!("no such peer endpoint: {path}"),
        ),
    })
}
