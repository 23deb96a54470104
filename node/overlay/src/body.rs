//! Flow bytes on HTTP/2 streams: a streaming body fed by a channel, and the two pumps that
//! move a local socket's bytes into a stream and a stream's bytes into a socket.

use bytes::{Bytes, BytesMut};
use futures::SinkExt;
use futures::channel::mpsc;
use http_body_util::{BodyExt, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Every tunnel body: bytes, or the I/O error that ended the flow.
pub type Body = BoxBody<Bytes, std::io::Error>;
/// The sending half of a [`channel_body`].
pub type BodySender = mpsc::Sender<Result<Frame<Bytes>, std::io::Error>>;

/// Chunks in flight per direction of a flow before the reader waits (back-pressure).
const CHANNEL_DEPTH: usize = 8;
/// The largest chunk read from a socket at once: one HTTP/2 frame ([`crate::tls::MAX_FRAME`]),
/// so bytes that piled up while the relay waited for a core leave as one frame, one channel
/// send and one wake-up.
const CHUNK: usize = crate::tls::MAX_FRAME as usize;
/// The first read's buffer: an idle or chatty flow holds this much, not [`CHUNK`]; each read
/// that fills its buffer doubles the next one, up to [`CHUNK`], and one that does not halves it.
const FIRST_CHUNK: usize = 16 * 1024;

/// A body that ends when its sender is dropped.
pub fn channel_body() -> (BodySender, Body) {
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    (tx, BodyExt::boxed(StreamBody::new(rx)))
}

/// A body with nothing in it.
pub fn empty_body() -> Body {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed()
}

/// Copies `read` into `tx` until end of file; dropping `tx` then ends the body. Each chunk
/// is read into a buffer of its own that becomes the frame (no copy, no zeroing); the buffer
/// grows while reads fill it (a bulk stream) and shrinks when they do not.
pub async fn socket_to_body(mut read: impl AsyncRead + Unpin, mut tx: BodySender) {
    let (mut buf, mut want) = (BytesMut::new(), FIRST_CHUNK);
    loop {
        buf.reserve(want);
        match read.read_buf(&mut buf).await {
            Ok(0) => return,
            Ok(n) => {
                want = match n >= want {
                    true => (want * 2).min(CHUNK),
                    false => (want / 2).max(FIRST_CHUNK),
                };
                let chunk = buf.split().freeze();
                if tx.send(Ok(Frame::data(chunk))).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        }
    }
}

/// Copies the data of `body` into `write` until the body ends, then shuts `write` down
/// (the peer reads end of file). Returns whether the body ended cleanly.
pub async fn body_to_socket(mut body: Incoming, mut write: impl AsyncWrite + Unpin) -> bool {
    loop {
        match body.frame().await {
            None => {
                let _ = write.shutdown().await;
                return true;
            }
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data()
                    && write.write_all(&data).await.is_err()
                {
                    return false;
                }
            }
            Some(Err(_)) => return false,
        }
    }
}
