//! The session's read side: frames off the connection, each acted on in order. New streams
//! go to the caller, data to its stream's queue (waiting while the queue is full), PINGs are
//! echoed, resets end their stream.

use std::sync::atomic::Ordering;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

use super::super::frame::{self, Frame, goaway, rst};
use super::super::headers::{HeaderDecoder, Headers};
use super::WINDOW_GRANT;
use super::{Inbound, MAX_STREAMS, Reader, STREAM_QUEUE, SessionError, Stream, StreamOut};

/// Bytes asked of the connection per read.
const READ_CHUNK: usize = 32 << 10;

impl Reader {
    /// Reads until the client closes the connection, an error, or the session ends.
    pub(super) async fn run<R: AsyncRead + Unpin>(mut self, mut io: R) -> Result<(), SessionError> {
        let mut headers = HeaderDecoder::new();
        let mut buffer = BytesMut::with_capacity(READ_CHUNK);
        let result = loop {
            match frame::decode(&mut buffer, &mut headers) {
                Ok(Some(frame)) => {
                    if !self.on_frame(frame).await {
                        break Ok(());
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    let status = goaway::PROTOCOL_ERROR;
                    self.ending.status.store(status, Ordering::Relaxed);
                    break Err(SessionError::Protocol(e));
                }
            }
            buffer.reserve(READ_CHUNK);
            let read = tokio::select! {
                read = io.read_buf(&mut buffer) => read,
                () = self.ended.cancelled() => break Ok(()),
            };
            match read {
                Ok(0) => break Ok(()),
                Ok(_) => {}
                Err(e) => break Err(SessionError::Read(e)),
            }
        };
        for inbound in self.streams.values() {
            inbound.reset.cancel();
        }
        result
    }

    /// Acts on one frame; `false` once the session is over (the caller or writer left).
    async fn on_frame(&mut self, frame: Frame) -> bool {
        match frame {
            Frame::SynStream {
                stream,
                fin,
                headers,
                ..
            } => self.open(stream, fin, headers).await,
            Frame::Data { stream, fin, data } => self.data(stream, fin, data).await,
            Frame::RstStream { stream, .. } => {
                if let Some(inbound) = self.streams.remove(&stream) {
                    inbound.reset.cancel();
                }
                true
            }
            // Client PINGs have odd ids and are echoed; this side sends none of its own.
            Frame::Ping { id } if !id.is_multiple_of(2) => {
                self.frames.send(Frame::Ping { id }).await.is_ok()
            }
            Frame::GoAway { .. } => {
                self.going_away = true;
                true
            }
            // Window is not waited for (see the module doc); settings, late headers, replies
            // to streams this side never opens, and unknown control frames are ignored.
            Frame::Ping { .. }
            | Frame::WindowUpdate { .. }
            | Frame::Settings { .. }
            | Frame::Headers { .. }
            | Frame::SynReply { .. }
            | Frame::Unknown { .. } => true,
        }
    }

    /// A SYN_STREAM: a new stream, handed to the caller, unless it must be refused.
    async fn open(&mut self, id: u32, fin: bool, headers: Headers) -> bool {
        let out = StreamOut {
            id,
            frames: self.frames.clone(),
        };
        // Client streams have odd, increasing ids (spdystream's rule too).
        let refusal = if id.is_multiple_of(2) || id <= self.last_id {
            Some(rst::PROTOCOL_ERROR)
        } else if self.going_away || self.streams.len() >= MAX_STREAMS {
            Some(rst::REFUSED_STREAM)
        } else {
            None
        };
        if let Some(status) = refusal {
            return out.reset(status).await.is_ok();
        }
        self.last_id = id;
        self.ending.last_good.store(id, Ordering::Relaxed);
        let (sender, data) = mpsc::channel(STREAM_QUEUE);
        let reset = self.ended.child_token();
        if !fin {
            let inbound = Inbound {
                data: sender,
                reset: reset.clone(),
                ungranted: 0,
            };
            self.streams.insert(id, inbound);
        }
        let stream = Stream {
            id,
            headers,
            data,
            reset,
            out,
        };
        self.accepted.send(stream).await.is_ok()
    }

    /// A DATA frame: queued for its stream's reader, waiting while the queue is full.
    async fn data(&mut self, id: u32, fin: bool, data: Bytes) -> bool {
        // Data for a stream that is finished, reset or unknown is dropped (as spdystream does).
        let Some(inbound) = self.streams.get_mut(&id) else {
            return true;
        };
        let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let mut wanted = !data.is_empty();
        if wanted {
            let sent = tokio::select! {
                sent = inbound.data.send(data) => sent.is_ok(),
                () = inbound.reset.cancelled() => false,
            };
            // The reader dropped its queue: it wants no more of this stream's data.
            wanted = sent;
            inbound.ungranted = inbound.ungranted.saturating_add(length);
        }
        let grant = (inbound.ungranted >= WINDOW_GRANT && !fin).then_some(inbound.ungranted);
        if fin || !wanted && length > 0 {
            self.streams.remove(&id);
        } else if let Some(delta) = grant {
            inbound.ungranted = 0;
            let update = Frame::WindowUpdate { stream: id, delta };
            return self.frames.send(update).await.is_ok();
        }
        true
    }
}
