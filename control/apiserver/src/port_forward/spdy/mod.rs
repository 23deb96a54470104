//! The server side of SPDY/3.1, as much of it as `kubectl port-forward` (client-go's
//! spdystream) uses: [`frame`] is the wire form of every frame, [`headers`] the zlib-compressed
//! header blocks with SPDY's dictionary, and [`session`] a session that hands each stream
//! the client opens to its caller. No maintained Rust crate serves SPDY/3.1 (spdy-mux is a
//! client multiplexer over WebSockets), so this is skiff's own.

mod dictionary;
pub(crate) mod frame;
pub(crate) mod headers;
pub(crate) mod session;

pub(crate) use headers::Headers;
pub(crate) use session::{Stream, serve};
