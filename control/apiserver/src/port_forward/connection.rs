//! One upgraded port-forward connection: the SPDY session, and the kubelet's handling of
//! its streams (check each, accept or reset it, pair data and error streams by request id,
//! forward each complete pair, give up on halves left alone for [`PAIR_TIMEOUT`]). The
//! session and the stream handling run side by side in the connection's one task, which
//! owns every forward it starts.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::forward::{self, Half, PodTarget};
use super::pairs::{Added, Kind, PAIR_TIMEOUT, Pairs, classify};
use super::spdy::session::StreamOut;
use super::spdy::{self, Stream, frame::rst};

/// Streams opened but not yet taken by the stream handling.
const ACCEPT_QUEUE: usize = 16;
/// How often halves are checked for having waited too long.
const EXPIRY_CHECK: Duration = Duration::from_secs(5);
/// Forwards still running when the session ends get this long to finish.
const FORWARD_GRACE: Duration = Duration::from_secs(2);

/// Serves the connection read from `input` and written to `output` until kubectl closes it or `shutdown` fires.
pub(super) async fn serve<R, W>(
    input: R,
    output: W,
    pod: Arc<PodTarget>,
    shutdown: CancellationToken,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (accepted, streams) = mpsc::channel(ACCEPT_QUEUE);
    let session = spdy::serve(input, output, accepted, &shutdown);
    let (session, ()) = tokio::join!(session, handle_streams(streams, &pod));
    if let Err(e) = session {
        tracing::info!(namespace = %pod.namespace, pod = %pod.name, "port-forward connection ended: {e}");
    }
}

/// Takes the session's streams until it ends, forwarding each complete pair.
async fn handle_streams(mut streams: mpsc::Receiver<Stream>, pod: &Arc<PodTarget>) {
    let mut pairs = Pairs::new();
    let mut forwards = JoinSet::new();
    let mut expiry = tokio::time::interval(EXPIRY_CHECK);
    loop {
        tokio::select! {
            stream = streams.recv() => match stream {
                Some(stream) => on_stream(stream, &mut pairs, &mut forwards, pod).await,
                None => break,
            },
            _ = expiry.tick() => expire(&mut pairs, Instant::now()).await,
            Some(_) = forwards.join_next(), if !forwards.is_empty() => {}
        }
    }
    // The session is over, so every stream was reset and the forwards are ending.
    let drained = tokio::time::timeout(FORWARD_GRACE, async {
        while forwards.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        forwards.shutdown().await;
    }
}

/// A new stream: refused if its headers are wrong, else accepted and paired.
async fn on_stream(
    stream: Stream,
    pairs: &mut Pairs<Half<StreamOut>>,
    forwards: &mut JoinSet<()>,
    pod: &Arc<PodTarget>,
) {
    let Stream {
        id,
        headers,
        data,
        reset,
        out,
    } = stream;
    let request = match classify(&headers, id) {
        Ok(request) => request,
        Err(why) => {
            tracing::info!(pod = %pod.name, "port-forward stream {id} refused: {why}");
            let _ = out.reset(rst::CANCEL).await;
            return;
        }
    };
    if out.accept().await.is_err() {
        return;
    }
    // The error stream carries nothing from kubectl: its data is dropped unread.
    let data = (request.kind == Kind::Data).then_some(data);
    let half = Half { data, reset, out };
    match pairs.add(request, half, Instant::now()) {
        Added::Complete { data, error, port } => {
            forwards.spawn(forward::run(data, error, port, pod.clone()));
        }
        Added::Waiting => {}
        Added::Duplicate { stream, message } => {
            tracing::info!(pod = %pod.name, "{message}");
            let _ = stream.out.reset(rst::CANCEL).await;
        }
    }
}

/// Gives up on halves whose partner did not come, as the kubelet does.
async fn expire(pairs: &mut Pairs<Half<StreamOut>>, now: Instant) {
    for (request_id, kind, half) in pairs.expire(now, PAIR_TIMEOUT) {
        if kind == Kind::Error {
            let message = format!("(request={request_id}) timed out waiting for streams");
            let _ = half.out.send(message.into()).await;
        }
        let _ = half.out.finish().await;
    }
}
