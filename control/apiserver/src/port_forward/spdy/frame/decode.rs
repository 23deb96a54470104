//! Reading frames: [`decode`] takes one whole frame off the front of the received bytes,
//! checking every length before it reads a field, so malformed input is an error, never a
//! panic.

use bytes::{Buf, Bytes, BytesMut};

use super::super::headers::HeaderDecoder;
use super::{
    FLAG_FIN, FLAG_UNIDIRECTIONAL, Frame, FrameError, GOAWAY, HEADERS, MAX_FRAME, PING, RST_STREAM,
    SETTINGS, SYN_REPLY, SYN_STREAM, VERSION, WINDOW_UPDATE,
};

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

/// A control frame type's name and the body length it needs: at least, or exactly.
fn shape(kind: u16) -> Option<(&'static str, usize, bool)> {
    match kind {
        SYN_STREAM => Some(("SYN_STREAM", 10, false)),
        SYN_REPLY => Some(("SYN_REPLY", 4, false)),
        HEADERS => Some(("HEADERS", 4, false)),
        RST_STREAM => Some(("RST_STREAM", 8, true)),
        SETTINGS => Some(("SETTINGS", 4, false)),
        PING => Some(("PING", 4, true)),
        GOAWAY => Some(("GOAWAY", 8, true)),
        WINDOW_UPDATE => Some(("WINDOW_UPDATE", 8, true)),
        _ => None,
    }
}

/// A stream id field of a `name` frame, which may not be 0.
fn stream_id(name: &'static str, word: u32) -> Result<u32, FrameError> {
    match word & 0x7fff_ffff {
        0 => Err(FrameError::StreamZero { kind: name }),
        id => Ok(id),
    }
}

/// The body of a control frame of type `kind`.
fn decode_control(
    kind: u16,
    flags: u8,
    body: &mut Bytes,
    headers: &mut HeaderDecoder,
) -> Result<Frame, FrameError> {
    let Some((name, minimum, exact)) = shape(kind) else {
        return Ok(Frame::Unknown { kind });
    };
    let length = body.len();
    if length < minimum || (exact && length != minimum) {
        return Err(FrameError::Malformed { kind: name, length });
    }
    let fin = flags & FLAG_FIN != 0;
    let frame = match kind {
        SYN_STREAM => decode_syn_stream(flags, body, headers)?,
        SYN_REPLY | HEADERS => {
            let stream = stream_id(name, body.get_u32())?;
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
        RST_STREAM => Frame::RstStream {
            stream: stream_id(name, body.get_u32())?,
            status: body.get_u32(),
        },
        SETTINGS => decode_settings(body)?,
        PING => Frame::Ping { id: body.get_u32() },
        GOAWAY => Frame::GoAway {
            last_good: body.get_u32() & 0x7fff_ffff,
            status: body.get_u32(),
        },
        _ => Frame::WindowUpdate {
            stream: body.get_u32() & 0x7fff_ffff,
            delta: body.get_u32() & 0x7fff_ffff,
        },
    };
    Ok(frame)
}

/// A SYN_STREAM's body (at least 10 bytes).
fn decode_syn_stream(
    flags: u8,
    body: &mut Bytes,
    headers: &mut HeaderDecoder,
) -> Result<Frame, FrameError> {
    let stream = stream_id("SYN_STREAM", body.get_u32())?;
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
