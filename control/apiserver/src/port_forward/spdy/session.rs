//! One SPDY/3.1 session, server side, over any byte stream (an upgraded connection, or the
//! bytes of a WebSocket). [`serve`] reads frames and hands every stream the client opens to
//! the caller as a [`Stream`], answers PINGs, and writes what the caller's [`StreamOut`]s
//! send, until the client goes away or `shutdown` fires; then it sends GOAWAY and returns.
//!
//! Flow control: spdystream (client-go's SPDY) neither sends WINDOW_UPDATE nor honours it,
//! so this side sends without waiting for window (as the kubelet's spdystream does) and
//! grants window back as it takes data in. What bounds memory is that each stream queues at
//! most [`STREAM_QUEUE`] frames: while a stream's reader lags, this session stops reading
//! the connection, and TCP pushes back on the client. Outgoing frames wait in a queue of
//! [`OUTGOING_QUEUE`], so a client that stops reading stalls the senders, not memory.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::frame::{self, Frame, FrameError, goaway};
use super::headers::{HeaderEncoder, HeaderError, Headers};

/// Frames of data a stream holds until its reader takes them.
pub(crate) const STREAM_QUEUE: usize = 4;
/// Frames waiting to be written.
pub(crate) const OUTGOING_QUEUE: usize = 64;
/// Streams open at once; more are refused (kubectl opens two per forwarded connection). With
/// [`STREAM_QUEUE`] and [`frame::MAX_FRAME`], a session holds at most 256 MiB of a client's
/// data, and in practice (32 KiB frames) a few hundred KiB per busy stream.
pub(crate) const MAX_STREAMS: usize = 256;
/// Window given back once this much of a stream's data was taken in (half of SPDY/3.1's
/// initial 64 KiB window).
const WINDOW_GRANT: u32 = 32 << 10;
/// Outgoing frames are gathered into one write up to about this size.
const WRITE_BATCH: usize = 64 << 10;
/// The last frames and the GOAWAY get this long to be written when the session ends.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Why a session ended other than by the client closing it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    #[error("reading: {0}")]
    Read(std::io::Error),
    #[error("writing: {0}")]
    Write(std::io::Error),
    #[error("protocol error: {0}")]
    Protocol(#[from] FrameError),
    #[error(transparent)]
    Headers(#[from] HeaderError),
}

/// The session is gone: nothing more can be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the SPDY session is closed")]
pub(crate) struct SessionClosed;

/// A stream the client opened.
pub(crate) struct Stream {
    pub(crate) id: u32,
    pub(crate) headers: Headers,
    /// What the client sends on it; ends at its FIN or reset, or with the session. Drop it
    /// to discard the stream's data.
    pub(crate) data: mpsc::Receiver<Bytes>,
    /// Fires when the client resets the stream or the session ends.
    pub(crate) reset: CancellationToken,
    pub(crate) out: StreamOut,
}

/// Sends on one stream.
#[derive(Clone)]
pub(crate) struct StreamOut {
    id: u32,
    frames: mpsc::Sender<Frame>,
}

impl StreamOut {
    async fn send_frame(&self, frame: Frame) -> Result<(), SessionClosed> {
        self.frames.send(frame).await.map_err(|_| SessionClosed)
    }

    /// Accepts the stream (SYN_REPLY, no headers).
    pub(crate) async fn accept(&self) -> Result<(), SessionClosed> {
        let (stream, fin, headers) = (self.id, false, Headers::default());
        self.send_frame(Frame::SynReply {
            stream,
            fin,
            headers,
        })
        .await
    }

    /// Refuses or abandons the stream (RST_STREAM with `status`).
    pub(crate) async fn reset(&self, status: u32) -> Result<(), SessionClosed> {
        let stream = self.id;
        self.send_frame(Frame::RstStream { stream, status }).await
    }

    /// Sends `data`, in frames of at most [`frame::MAX_FRAME`] bytes.
    pub(crate) async fn send(&self, mut data: Bytes) -> Result<(), SessionClosed> {
        while !data.is_empty() {
            let chunk = data.split_to(data.len().min(frame::MAX_FRAME));
            let (stream, fin) = (self.id, false);
            self.send_frame(Frame::Data {
                stream,
                fin,
                data: chunk,
            })
            .await?;
        }
        Ok(())
    }

    /// Ends this side of the stream (an empty DATA frame with FIN).
    pub(crate) async fn finish(&self) -> Result<(), SessionClosed> {
        let (stream, fin, data) = (self.id, true, Bytes::new());
        self.send_frame(Frame::Data { stream, fin, data }).await
    }
}

/// What the reader and the writer share: how the GOAWAY at the end reads.
struct Ending {
    last_good: AtomicU32,
    status: AtomicU32,
}

impl Ending {
    fn new() -> Ending {
        Ending {
            last_good: AtomicU32::new(0),
            status: AtomicU32::new(goaway::OK),
        }
    }
}

/// Serves one session on a connection read from `input` and written to `output` until the
/// client closes it, a protocol error, or `shutdown`; every stream the client opens goes to
/// `accepted`.
pub(crate) async fn serve<R, W>(
    input: R,
    output: W,
    accepted: mpsc::Sender<Stream>,
    shutdown: &CancellationToken,
) -> Result<(), SessionError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (frames, outgoing) = mpsc::channel(OUTGOING_QUEUE);
    let ended = shutdown.child_token();
    let ending = Arc::new(Ending::new());
    let reader = Reader {
        streams: HashMap::new(),
        last_id: 0,
        going_away: false,
        accepted,
        frames,
        ended: ended.clone(),
        ending: ending.clone(),
    };
    let read = async {
        let result = reader.run(input).await;
        ended.cancel();
        result
    };
    let write = async {
        let result = write_loop(output, outgoing, &ended, &ending).await;
        ended.cancel();
        result
    };
    let (read, write) = tokio::join!(read, write);
    read.and(write)
}

/// Where a stream's incoming data goes.
struct Inbound {
    data: mpsc::Sender<Bytes>,
    reset: CancellationToken,
    /// Data taken in since window was last granted.
    ungranted: u32,
}

struct Reader {
    streams: HashMap<u32, Inbound>,
    last_id: u32,
    going_away: bool,
    accepted: mpsc::Sender<Stream>,
    frames: mpsc::Sender<Frame>,
    ended: CancellationToken,
    ending: Arc<Ending>,
}

mod reader;

/// Writes queued frames, gathering what is queued into one write, until the session ends;
/// then writes what is left and the GOAWAY, and shuts the connection down.
async fn write_loop<W: AsyncWrite + Unpin>(
    mut io: W,
    mut outgoing: mpsc::Receiver<Frame>,
    ended: &CancellationToken,
    ending: &Ending,
) -> Result<(), SessionError> {
    let mut headers = HeaderEncoder::new()?;
    let mut buffer = BytesMut::with_capacity(WRITE_BATCH);
    loop {
        let first = tokio::select! {
            biased;
            frame = outgoing.recv() => frame,
            () = ended.cancelled() => None,
        };
        let Some(first) = first else { break };
        frame::encode(&first, &mut buffer, &mut headers)?;
        while buffer.len() < WRITE_BATCH {
            let Ok(next) = outgoing.try_recv() else { break };
            frame::encode(&next, &mut buffer, &mut headers)?;
        }
        let written = tokio::select! {
            written = io.write_all_buf(&mut buffer) => written,
            () = ended.cancelled() => return Ok(()),
        };
        written.map_err(SessionError::Write)?;
        io.flush().await.map_err(SessionError::Write)?;
    }
    while let Ok(frame) = outgoing.try_recv() {
        frame::encode(&frame, &mut buffer, &mut headers)?;
    }
    let goodbye = Frame::GoAway {
        last_good: ending.last_good.load(Ordering::Relaxed),
        status: ending.status.load(Ordering::Relaxed),
    };
    frame::encode(&goodbye, &mut buffer, &mut headers)?;
    let close = async {
        io.write_all_buf(&mut buffer).await?;
        io.shutdown().await
    };
    // The client may be gone already: the GOAWAY is a courtesy.
    let _ = tokio::time::timeout(CLOSE_GRACE, close).await;
    Ok(())
}

#[cfg(test)]
mod tests;
