//! Which upgrade a port-forward request asks for, decided from its headers alone (no I/O),
//! and the `101 Switching Protocols` that answers it. kubectl 1.30+ first asks for a
//! WebSocket carrying SPDY (KEP-4006: `GET`, `Upgrade: websocket`, subprotocol
//! `SPDY/3.1+portforward.k8s.io`) and falls back to a plain SPDY/3.1 upgrade (`POST`,
//! `Upgrade: SPDY/3.1`, `X-Stream-Protocol-Version: portforward.k8s.io`) when that fails.
//! Refusals are worded as kube-apiserver's and the kubelet's.

use base64::Engine;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, Version, header};
use sha1::{Digest, Sha1};
use skiff_api::status::ApiError;
use skiff_respond::Body;

use super::channel::Framing;

/// The only port-forward stream protocol.
pub(super) const PORT_FORWARD_PROTOCOL: &str = "portforward.k8s.io";
/// The `Upgrade` of a plain SPDY connection.
const SPDY_UPGRADE: &str = "SPDY/3.1";
/// WebSocket subprotocols that tunnel SPDY start with this (client-go's
/// `WebsocketsSPDYTunnelingPrefix`).
const TUNNELING_PREFIX: &str = "SPDY/3.1+";
/// Names the SPDY stream protocol on plain SPDY upgrades.
const PROTOCOL_VERSION: &str = "x-stream-protocol-version";
/// RFC 6455's key suffix for `Sec-WebSocket-Accept`.
const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The upgrade to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Transport {
    /// SPDY/3.1 straight on the connection.
    Spdy,
    /// SPDY/3.1 in binary WebSocket messages; `accept` answers the client's key.
    WebSocket { accept: String },
    /// The WebSocket channel protocol (kube-rs, the Python client): `protocol` is the
    /// subprotocol chosen from the client's offer.
    Channel {
        accept: String,
        protocol: &'static str,
    },
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Spdy => "SPDY/3.1",
            Transport::WebSocket { .. } => "WebSocket",
            Transport::Channel { protocol, .. } => protocol,
        })
    }
}

/// Every comma-separated value of header `name`, trimmed.
fn values<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn has_token(headers: &HeaderMap, name: &str, token: &str) -> bool {
    values(headers, name).any(|v| v.eq_ignore_ascii_case(token))
}

/// Decides the upgrade for a port-forward request.
pub(super) fn negotiate(
    version: Version,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Transport, ApiError> {
    let missing = || {
        ApiError::bad_request(
            "unable to upgrade: missing upgrade headers in request: port-forward needs an \
             HTTP/1.1 upgrade to WebSocket or SPDY/3.1",
        )
    };
    if version != Version::HTTP_11 || !has_token(headers, header::CONNECTION.as_str(), "upgrade") {
        return Err(missing());
    }
    if has_token(headers, header::UPGRADE.as_str(), "websocket") {
        return websocket(method, headers);
    }
    if !has_token(headers, header::UPGRADE.as_str(), SPDY_UPGRADE) {
        return Err(missing());
    }
    let offered: Vec<&str> = values(headers, PROTOCOL_VERSION).collect();
    if offered.is_empty() {
        return Err(ApiError::bad_request(
            "unable to upgrade: X-Stream-Protocol-Version is required",
        ));
    }
    if !offered.contains(&PORT_FORWARD_PROTOCOL) {
        return Err(ApiError::forbidden(format!(
            "unable to upgrade: unable to negotiate protocol: client supports [{}], server accepts [{PORT_FORWARD_PROTOCOL}]",
            offered.join(" ")
        )));
    }
    Ok(Transport::Spdy)
}

/// The WebSocket handshake's checks (RFC 6455 4.2.1) and the SPDY subprotocol.
fn websocket(method: &Method, headers: &HeaderMap) -> Result<Transport, ApiError> {
    if method != Method::GET {
        return Err(ApiError::bad_request(
            "unable to upgrade: a WebSocket upgrade must be a GET",
        ));
    }
    if !has_token(headers, "sec-websocket-version", "13") {
        return Err(ApiError::bad_request(
            "unable to upgrade: Sec-WebSocket-Version 13 is required",
        ));
    }
    let Some(key) = values(headers, "sec-websocket-key").next() else {
        return Err(ApiError::bad_request(
            "unable to upgrade: Sec-WebSocket-Key is required",
        ));
    };
    let tunneled = values(headers, "sec-websocket-protocol")
        .filter_map(|p| p.strip_prefix(TUNNELING_PREFIX))
        .any(|p| p == PORT_FORWARD_PROTOCOL);
    if tunneled {
        return Ok(Transport::WebSocket {
            accept: accept_key(key),
        });
    }
    // As wsstream's handshake: the first offered subprotocol the server speaks.
    let channel = values(headers, "sec-websocket-protocol")
        .find_map(|offered| Framing::PROTOCOLS.iter().find(|(p, _)| *p == offered));
    match channel {
        Some((protocol, _)) => Ok(Transport::Channel {
            accept: accept_key(key),
            protocol,
        }),
        None => Err(ApiError::bad_request(
            "unable to upgrade: no tunneling spdy protocols provided, and none of the \
             channel protocols (v4.channel.k8s.io, v4.base64.channel.k8s.io, channel.k8s.io, \
             base64.channel.k8s.io, portforward.k8s.io)",
        )),
    }
}

/// `Sec-WebSocket-Accept` for `key`: base64 of the SHA-1 of the key and RFC 6455's GUID.
fn accept_key(key: &str) -> String {
    let digest = Sha1::new()
        .chain_update(key.as_bytes())
        .chain_update(WEBSOCKET_GUID.as_bytes())
        .finalize();
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// The `101 Switching Protocols` for `transport`.
pub(super) fn switching(transport: &Transport) -> Response<Body> {
    let mut response = Response::new(skiff_respond::full(bytes::Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    match transport {
        Transport::Spdy => {
            headers.insert(header::UPGRADE, HeaderValue::from_static(SPDY_UPGRADE));
            headers.insert(
                PROTOCOL_VERSION,
                HeaderValue::from_static(PORT_FORWARD_PROTOCOL),
            );
        }
        Transport::WebSocket { accept } => {
            websocket_headers(headers, accept, "SPDY/3.1+portforward.k8s.io");
        }
        Transport::Channel { accept, protocol } => websocket_headers(headers, accept, protocol),
    }
    response
}

/// The headers of a WebSocket's `101`: the answer to the key and the chosen subprotocol.
fn websocket_headers(headers: &mut HeaderMap, accept: &str, protocol: &'static str) {
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(accept) {
        headers.insert("sec-websocket-accept", accept);
    }
    headers.insert("sec-websocket-protocol", HeaderValue::from_static(protocol));
}

#[cfg(test)]
mod tests;
