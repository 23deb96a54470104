//! Kubernetes' WebSocket *channel* port-forward protocol (the kubelet's
//! `portforward/websocket.go` over apiserver's `wsstream`), as kube-rs' `Api::portforward` and
//! the Python client's `kubernetes.stream.portforward` speak it, decided without I/O. The
//! ports come in the query (`?ports=80&ports=8080`, or `ports=80,8080`); port `i` has channel
//! `2i` for data and `2i+1` for errors. Every message starts with its channel: a byte in the
//! binary protocols, an ASCII digit before base64 text in the base64 ones. The server's first
//! message on each channel is the port, 2 bytes little-endian, alone (kube-rs refuses any
//! other size).

use base64::Engine;
use bytes::{Bytes, BytesMut};
use skiff_api::status::ApiError;
use tokio_tungstenite::tungstenite::Message;

/// How a channel message is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// Binary messages: the channel byte, then the data.
    Binary,
    /// Text messages: the channel as an ASCII digit, then the data in base64.
    Base64,
}

/// A message that is not a channel message, or names a channel the connection lacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum FrameError {
    #[error("a {0} message, where the {1:?} channel protocol expects the other kind")]
    WrongKind(&'static str, Framing),
    #[error("the channel \"{0}\" of a base64 message is not a digit")]
    BadChannel(char),
    #[error("the data of a base64 message is not base64: {0}")]
    BadBase64(String),
}

impl Framing {
    /// The subprotocols served, and their framing (wsstream's table for port-forward).
    pub(super) const PROTOCOLS: [(&'static str, Framing); 5] = [
        ("v4.channel.k8s.io", Framing::Binary),
        ("v4.base64.channel.k8s.io", Framing::Base64),
        ("channel.k8s.io", Framing::Binary),
        ("base64.channel.k8s.io", Framing::Base64),
        ("portforward.k8s.io", Framing::Binary),
    ];

    /// The framing of subprotocol `protocol` (binary for one not in [`Self::PROTOCOLS`]).
    pub(super) fn of(protocol: &str) -> Framing {
        Self::PROTOCOLS
            .iter()
            .find(|(p, _)| *p == protocol)
            .map_or(Framing::Binary, |(_, framing)| *framing)
    }

    /// `data` on `channel`, as one message.
    pub(super) fn encode(self, channel: u8, data: &[u8]) -> Message {
        match self {
            Framing::Binary => {
                let mut message = BytesMut::with_capacity(data.len() + 1);
                message.extend_from_slice(&[channel]);
                message.extend_from_slice(data);
                Message::Binary(message.freeze())
            }
            Framing::Base64 => {
                let mut text = char::from(b'0'.wrapping_add(channel)).to_string();
                base64::engine::general_purpose::STANDARD.encode_string(data, &mut text);
                Message::text(text)
            }
        }
    }

    /// The channel and data of a client's message; `None` for one that carries no data
    /// (control frames, an empty message, a channel byte alone).
    pub(super) fn decode(self, message: Message) -> Result<Option<(u8, Bytes)>, FrameError> {
        match (self, message) {
            (Framing::Binary, Message::Binary(mut data)) => {
                if data.len() < 2 {
                    return Ok(None);
                }
                let channel = data.split_to(1)[0];
                Ok(Some((channel, data)))
            }
            (Framing::Base64, Message::Text(text)) => {
                let mut chars = text.as_str().chars();
                let Some(digit) = chars.next() else {
                    return Ok(None);
                };
                let channel = digit
                    .to_digit(10)
                    .and_then(|d| u8::try_from(d).ok())
                    .ok_or(FrameError::BadChannel(digit))?;
                let data = base64::engine::general_purpose::STANDARD
                    .decode(chars.as_str())
                    .map_err(|e| FrameError::BadBase64(e.to_string()))?;
                Ok((!data.is_empty()).then(|| (channel, Bytes::from(data))))
            }
            (framing, Message::Binary(_)) => Err(FrameError::WrongKind("binary", framing)),
            (framing, Message::Text(_)) => Err(FrameError::WrongKind("text", framing)),
            _ => Ok(None),
        }
    }
}

/// The server's first message on each channel of `port`: the port, little-endian.
pub(super) fn port_prefix(port: u16) -> [u8; 2] {
    port.to_le_bytes()
}

/// Which port (by index) channel `channel` belongs to, and whether it is its data channel.
pub(super) fn channel_port(channel: u8) -> (usize, bool) {
    (usize::from(channel / 2), channel.is_multiple_of(2))
}

/// The ports of the request's query (`ports`, or the kubelet's `port`; repeated or
/// comma-separated), refused before the upgrade in the kubelet's words.
pub(super) fn requested_ports(query: Option<&str>, framing: Framing) -> Result<Vec<u16>, ApiError> {
    let values: Vec<String> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(key, _)| key == "ports" || key == "port")
        .map(|(_, value)| value.into_owned())
        .collect();
    if values.is_empty() {
        return Err(ApiError::bad_request(
            "query parameter \"ports\" is required: name at least one port to forward",
        ));
    }
    let mut ports = Vec::new();
    for value in &values {
        if value.is_empty() {
            return Err(ApiError::bad_request(
                "query parameter \"ports\" cannot be empty",
            ));
        }
        for one in value.split(',') {
            let port: u16 = one.trim().parse().map_err(|e| {
                ApiError::bad_request(format!("unable to parse \"{one}\" as a port: {e}"))
            })?;
            if port < 1 {
                return Err(ApiError::bad_request(format!("port \"{one}\" must be > 0")));
            }
            ports.push(port);
        }
    }
    // Two channels per port, each named by one byte (in base64, one digit): more ports than
    // that cannot be told apart.
    let most = match framing {
        Framing::Binary => 128,
        Framing::Base64 => 5,
    };
    if ports.len() > most {
        return Err(ApiError::bad_request(format!(
            "at most {most} ports may be forwarded over one WebSocket with this protocol, not {}",
            ports.len()
        )));
    }
    Ok(ports)
}

#[cfg(test)]
mod tests;
