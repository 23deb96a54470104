//! The answering side of Raft streams: accepts the upgrade of an authenticated `/raft/stream`
//! request, then answers frames on the connection until the peer closes it or the server stops.

use std::sync::Arc;

use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

use super::{Kind, UPGRADE_PROTOCOL, read_frame, write_frame};
use crate::Replica;
use skiff_respond::{self as respond, Body};
use skiff_store::codec;

/// Answers an upgrade request (already authenticated by the router) with 101 and serves the
/// connection on its own task, which ends with the connection or when `shutdown` fires.
pub fn accept(
    replica: Arc<Replica>,
    request: Request<Incoming>,
    shutdown: CancellationToken,
) -> Response<Body> {
    let wanted = request.headers().get(header::UPGRADE).is_some_and(|v| {
        v.as_bytes()
            .eq_ignore_ascii_case(UPGRADE_PROTOCOL.as_bytes())
    });
    if request.version() != http::Version::HTTP_11 {
        // hyper cannot upgrade an HTTP/2 stream; say so instead of failing after a 101.
        return respond::text(
            StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            format!(
                "a raft stream is an HTTP/1.1 upgrade; this request came over {:?}",
                request.version()
            ),
        );
    }
    if !wanted {
        return respond::text(
            StatusCode::BAD_REQUEST,
            format!("a raft stream needs `Upgrade: {UPGRADE_PROTOCOL}` over HTTP/1.1"),
        );
    }
    tokio::spawn(async move {
        match hyper::upgrade::on(request).await {
            Ok(upgraded) => serve(&replica, TokioIo::new(upgraded), &shutdown).await,
            Err(e) => tracing::debug!("raft stream upgrade failed: {e}"),
        }
    });
    let mut response = Response::new(respond::full(bytes::Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(
        header::CONNECTION,
        header::HeaderValue::from_static("upgrade"),
    );
    headers.insert(
        header::UPGRADE,
        header::HeaderValue::from_static(UPGRADE_PROTOCOL),
    );
    response
}

async fn serve<IO: AsyncRead + AsyncWrite + Unpin>(
    replica: &Replica,
    mut io: IO,
    shutdown: &CancellationToken,
) {
    loop {
        let frame = tokio::select! {
            _ = shutdown.cancelled() => return,
            frame = read_frame(&mut io) => frame,
        };
        let frame = match frame {
            Ok(frame) => frame,
            // The peer closed the connection (or it broke): it dials again when it needs to.
            Err(e) => {
                tracing::debug!("raft stream closed: {e}");
                return;
            }
        };
        let answer = match answer(replica, &frame).await {
            Ok(answer) => answer,
            Err(reason) => {
                tracing::warn!("closing a raft stream: {reason}");
                return;
            }
        };
        let written = tokio::select! {
            _ = shutdown.cancelled() => return,
            written = write_frame(&mut io, None, &answer) => written,
        };
        if let Err(e) = written {
            tracing::debug!("raft stream closed while answering: {e}");
            return;
        }
    }
}

/// Runs the RPC a request frame carries and encodes its result.
async fn answer(replica: &Replica, frame: &[u8]) -> Result<Vec<u8>, String> {
    let (&kind, body) = frame.split_first().ok_or("an empty frame")?;
    let kind = Kind::from_byte(kind).ok_or_else(|| format!("unknown frame kind {kind}"))?;
    let raft = &replica.raft;
    let malformed = |e: codec::CodecError| format!("malformed {kind:?} request: {e}");
    Ok(match kind {
        Kind::Append => codec::encode(
            &raft
                .append_entries(codec::decode(body).map_err(malformed)?)
                .await,
        ),
        Kind::Vote => codec::encode(&raft.vote(codec::decode(body).map_err(malformed)?).await),
        Kind::PreVote => {
            codec::encode(&raft.pre_vote(codec::decode(body).map_err(malformed)?).await)
        }
        Kind::ReadProbe => codec::encode(
            &replica
                .confirmer
                .follows(&codec::decode(body).map_err(malformed)?),
        ),
    })
}
