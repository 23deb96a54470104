//! SPDY/3.1 frames and their wire form. Every frame has an 8-byte head: a control frame
//! starts with the control bit, the version (3) and its type, a data frame with its stream
//! id; then 8 bits of flags and a 24-bit length. [`decode`] (in `decode.rs`) takes one frame
//! off a buffer of received bytes (or asks for more); [`encode`] appends one. Header blocks
//! go through the session's zlib streams, which is why both take a header codec.

use bytes::{BufMut, Bytes, BytesMut};

use super::headers::{HeaderEncoder, HeaderError, Headers};

/// The protocol version in every control frame.
pub(crate) const VERSION: u16 = 3;
/// Frames longer than this are refused: kubectl writes at most 32 KiB a frame (its copy
/// buffer). With [`super::session`]'s stream and queue limits this bounds a session's memory.
pub(crate) const MAX_FRAME: usize = 256 << 10;

/// FLAG_FIN: the sender's last frame on the stream.
const FLAG_FIN: u8 = 0x01;
/// FLAG_UNIDIRECTIONAL on SYN_STREAM: the receiver may not send on the stream.
const FLAG_UNIDIRECTIONAL: u8 = 0x02;

const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const SETTINGS: u16 = 4;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const HEADERS: u16 = 8;
const WINDOW_UPDATE: u16 = 9;

/// RST_STREAM status codes this side sends.
pub(crate) mod rst {
    pub(crate) const PROTOCOL_ERROR: u32 = 1;
    pub(crate) const REFUSED_STREAM: u32 = 3;
    pub(crate) const CANCEL: u32 = 5;
}

/// GOAWAY status codes.
pub(crate) mod goaway {
    pub(crate) const OK: u32 = 0;
    pub(crate) const PROTOCOL_ERROR: u32 = 1;
}

/// One frame, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    SynStream {
        stream: u32,
        associated: u32,
        priority: u8,
        fin: bool,
        unidirectional: bool,
        headers: Headers,
    },
    SynReply {
        stream: u32,
        fin: bool,
        headers: Headers,
    },
    RstStream {
        stream: u32,
        status: u32,
    },
    /// Entries as (flags, id, value).
    Settings {
        entries: Vec<(u8, u32, u32)>,
    },
    Ping {
        id: u32,
    },
    GoAway {
        last_good: u32,
        status: u32,
    },
    Headers {
        stream: u32,
        fin: bool,
        headers: Headers,
    },
    WindowUpdate {
        stream: u32,
        delta: u32,
    },
    Data {
        stream: u32,
        fin: bool,
        data: Bytes,
    },
    /// A control frame of a type this side does not know, which SPDY says to ignore.
    Unknown {
        kind: u16,
    },
}

/// Why the bytes received are not a SPDY/3.1 frame; the session ends with a GOAWAY.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FrameError {
    #[error("SPDY version {0} is not supported (only 3)")]
    Version(u16),
    #[error("a {length}-byte frame is longer than the {MAX_FRAME}-byte limit")]
    TooLong { length: usize },
    #[error("a {kind} frame of {length} bytes is malformed")]
    Malformed { kind: &'static str, length: usize },
    #[error("a {kind} frame names stream 0")]
    StreamZero { kind: &'static str },
    #[error("header block: {0}")]
    Headers(#[from] HeaderError),
}

/// Appends `frame`'s wire form to `out`.
pub(crate) fn encode(
    frame: &Frame,
    out: &mut BytesMut,
    headers: &mut HeaderEncoder,
) -> Result<(), FrameError> {
    if let Frame::Data { stream, fin, data } = frame {
        let length = data.len();
        if length > MAX_FRAME {
            return Err(FrameError::TooLong { length });
        }
        out.put_u32(stream & 0x7fff_ffff);
        put_flags_and_length(out, u8::from(*fin), length);
        out.extend_from_slice(data);
        return Ok(());
    }
    let mut body = BytesMut::new();
    let (kind, flags) = control_body(frame, &mut body, headers)?;
    out.put_u16(0x8000 | VERSION);
    out.put_u16(kind);
    put_flags_and_length(out, flags, body.len());
    out.extend_from_slice(&body);
    Ok(())
}

/// Writes a control frame's body; returns its type and flags.
fn control_body(
    frame: &Frame,
    body: &mut BytesMut,
    headers: &mut HeaderEncoder,
) -> Result<(u16, u8), FrameError> {
    let two_words = |body: &mut BytesMut, first: u32, second: u32| {
        body.put_u32(first);
        body.put_u32(second);
    };
    let kind_and_flags = match frame {
        Frame::SynStream { .. } => syn_stream_body(frame, body, headers)?,
        Frame::SynReply {
            stream,
            fin,
            headers: block,
        } => {
            body.put_u32(*stream);
            body.extend_from_slice(&headers.encode(block)?);
            (SYN_REPLY, u8::from(*fin))
        }
        Frame::Headers {
            stream,
            fin,
            headers: block,
        } => {
            body.put_u32(*stream);
            body.extend_from_slice(&headers.encode(block)?);
            (HEADERS, u8::from(*fin))
        }
        Frame::RstStream { stream, status } => {
            two_words(body, *stream, *status);
            (RST_STREAM, 0)
        }
        Frame::GoAway { last_good, status } => {
            two_words(body, *last_good, *status);
            (GOAWAY, 0)
        }
        Frame::WindowUpdate { stream, delta } => {
            two_words(body, *stream, *delta);
            (WINDOW_UPDATE, 0)
        }
        Frame::Settings { entries } => {
            body.put_u32(u32::try_from(entries.len()).unwrap_or(u32::MAX));
            for (flags, id, value) in entries {
                two_words(body, u32::from(*flags) << 24 | (id & 0x00ff_ffff), *value);
            }
            (SETTINGS, 0)
        }
        Frame::Ping { id } => {
            body.put_u32(*id);
            (PING, 0)
        }
        Frame::Unknown { kind } => (*kind, 0),
        Frame::Data { .. } => (0, 0),
    };
    Ok(kind_and_flags)
}

/// A SYN_STREAM's body (this side opens no streams; tests play the client with it).
fn syn_stream_body(
    frame: &Frame,
    body: &mut BytesMut,
    headers: &mut HeaderEncoder,
) -> Result<(u16, u8), FrameError> {
    let Frame::SynStream {
        stream,
        associated,
        priority,
        fin,
        unidirectional,
        headers: block,
    } = frame
    else {
        return Ok((SYN_STREAM, 0));
    };
    body.put_u32(*stream);
    body.put_u32(*associated);
    body.put_u8(priority << 5);
    body.put_u8(0);
    body.extend_from_slice(&headers.encode(block)?);
    let one_way = if *unidirectional {
        FLAG_UNIDIRECTIONAL
    } else {
        0
    };
    Ok((SYN_STREAM, u8::from(*fin) | one_way))
}

fn put_flags_and_length(out: &mut BytesMut, flags: u8, length: usize) {
    let length = u32::try_from(length).unwrap_or(u32::MAX) & 0x00ff_ffff;
    out.put_u32(u32::from(flags) << 24 | length);
}

mod decode;

pub(crate) use decode::decode;

#[cfg(test)]
mod tests;
