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
