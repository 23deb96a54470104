//! SPDY/3.1 frames and their wire form. Every frame has an 8-byte head: a control frame
//! starts with the control bit, the version (3) and its type, a data frame with its stream
//! id; then 8 bits of flags and a 24-bit length. [`decode`] takes one frame off a buffer of
//! received bytes (or asks for more); [`encode`] appends one. Header blocks go through the
//! session's zlib streams, which is why both take a header codec.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::headers::{HeaderDecoder, HeaderEncoder, HeaderError, Headers};

/// The protocol version in every control frame.
pub(crate) const VERSION: u16 = 3;
/// Frames longer than this are refused: kubectl writes at most 32 KiB a frame.
pub(crate) const MAX_FRAME: usize = 1 << 20;

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

/// Takes the next whole frame off the front of `buffer`; `None` until it has arrived.
pub(crate) fn decode(
    buffer: &mut BytesMut,
    headers: &mut HeaderDecoder,
) -> Result<Option<Frame>, FrameError> {
    let Some(head) = buffer.get(..8) else {
        return Ok(None);
    };
    let first = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let flags = head[4];
    let length = usize::from(head[5]) << 16 | usize::from(head[6]) << 8 | usize::from(head[7]);
    if length > MAX_FRAME {
        return Err(FrameError::TooLong { length });
    }
    if buffer.len() < 8 + length {
        buffer.reserve(8 + length - buffer.len());
        return Ok(None);
    }
    buffer.advance(8);
    let mut body = buffer.split_to(length).freeze();
    let fin = flags & FLAG_FIN != 0;
    if first & 0x8000_0000 == 0 {
        let stream = first & 0x7fff_ffff;
        if stream == 0 {
            return Err(FrameError::StreamZero { kind: "DATA" });
        }
        return Ok(Some(Frame::Data {
            stream,
            fin,
            data: body,
        }));
    }
    let version = u16::try_from((first >> 16) & 0x7fff).unwrap_or(u16::MAX);
    if version != VERSION {
        return Err(FrameError::Version(version));
    }
    let kind = u16::try_from(first & 0xffff).unwrap_or(u16::MAX);
    decode_control(kind, flags, &mut body, headers).map(Some)
}

/// The body of a control frame of type `kind`.
fn decode_control(
    kind: u16,
    flags: u8,
    body: &mut Bytes,
    headers: &mut HeaderDecoder,
) -> Result<Frame, FrameError> {
    let length = body.len();
    let fin = flags & FLAG_FIN != 0;
    let need = |name: &'static str, minimum: usize, exact: bool| {
        let fits = if exact {
            length == minimum
        } else {
            length >= minimum
        };
        fits.then_some(())
            .ok_or(FrameError::Malformed { kind: name, length })
    };
    let stream_of = |name: &'static str, word: u32| match word & 0x7fff_ffff {
        0 => Err(FrameError::StreamZero { kind: name }),
        id => Ok(id),
    };
    let frame = match kind {
        SYN_STREAM => {
            need("SYN_STREAM", 10, false)?;
            decode_syn_stream(flags, body, headers)?
        }
        SYN_REPLY | HEADERS => {
            let name = if kind == SYN_REPLY {
                "SYN_REPLY"
            } else {
                "HEADERS"
            };
            need(name, 4, false)?;
            let stream = stream_of(name, body.get_u32())?;
            let headers = headers.decode(body)?;
            if kind == SYN_REPLY {
                Frame::SynReply {
                    stream,
                    fin,
                    headers,
                }
            } else {
                Frame::Headers {
                    stream,
                    fin,
                    headers,
                }
            }
        }
        RST_STREAM => {
            need("RST_STREAM", 8, true)?;
            let stream = stream_of("RST_STREAM", body.get_u32())?;
            Frame::RstStream {
                stream,
                status: body.get_u32(),
            }
        }
        SETTINGS => decode_settings(body)?,
        PING => {
            need("PING", 4, true)?;
            Frame::Ping { id: body.get_u32() }
        }
        GOAWAY => {
            need("GOAWAY", 8, true)?;
            Frame::GoAway {
                last_good: body.get_u32() & 0x7fff_ffff,
                status: body.get_u32(),
            }
        }
        WINDOW_UPDATE => {
            need("WINDOW_UPDATE", 8, true)?;
            Frame::WindowUpdate {
                stream: body.get_u32() & 0x7fff_ffff,
                delta: body.get_u32() & 0x7fff_ffff,
            }
        }
        other => Frame::Unknown { kind: other },
    };
    Ok(frame)
}

/// A SYN_STREAM's body (at least 10 bytes).
fn decode_syn_stream(
    flags: u8,
    body: &mut Bytes,
    headers: &mut HeaderDecoder,
) -> Result<Frame, FrameError> {
    let stream = body.get_u32() & 0x7fff_ffff;
    if stream == 0 {
        return Err(FrameError::StreamZero { kind: "SYN_STREAM" });
    }
    let associated = body.get_u32() & 0x7fff_ffff;
    let priority = body.get_u8() >> 5;
    body.advance(1); // the credential slot, unused
    Ok(Frame::SynStream {
        stream,
        associated,
        priority,
        fin: flags & FLAG_FIN != 0,
        unidirectional: flags & FLAG_UNIDIRECTIONAL != 0,
        headers: headers.decode(body)?,
    })
}

fn decode_settings(body: &mut Bytes) -> Result<Frame, FrameError> {
    let length = body.len();
    let malformed = FrameError::Malformed {
        kind: "SETTINGS",
        length,
    };
    if length < 4 {
        return Err(malformed);
    }
    let count = usize::try_from(body.get_u32()).map_err(|_| malformed.clone())?;
    if count.checked_mul(8) != Some(body.len()) {
        return Err(malformed);
    }
    let entries = (0..count)
        .map(|_| {
            let word = body.get_u32();
            let flags = u8::try_from(word >> 24).unwrap_or_default();
            (flags, word & 0x00ff_ffff, body.get_u32())
        })
        .collect();
    Ok(Frame::Settings { entries })
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
    let kind_and_flags = match frame {
        Frame::SynStream {
            stream,
            associated,
            priority,
            fin,
            unidirectional,
            headers: block,
        } => {
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
            (SYN_STREAM, u8::from(*fin) | one_way)
        }
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
        Frame::RstStream {
            stream: a,
            status: b,
        }
        | Frame::GoAway {
            last_good: a,
            status: b,
        }
        | Frame::WindowUpdate {
            stream: a,
            delta: b,
        } => {
            body.put_u32(*a);
            body.put_u32(*b);
            let kind = match frame {
                Frame::RstStream { .. } => RST_STREAM,
                Frame::GoAway { .. } => GOAWAY,
                _ => WINDOW_UPDATE,
            };
            (kind, 0)
        }
        Frame::Settings { entries } => {
            body.put_u32(u32::try_from(entries.len()).unwrap_or(u32::MAX));
            for (flags, id, value) in entries {
                body.put_u32(u32::from(*flags) << 24 | (id & 0x00ff_ffff));
                body.put_u32(*value);
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

fn put_flags_and_length(out: &mut BytesMut, flags: u8, length: usize) {
    let length = u32::try_from(length).unwrap_or(u32::MAX) & 0x00ff_ffff;
    out.put_u32(u32::from(flags) << 24 | length);
}

#[cfg(test)]
mod tests;
