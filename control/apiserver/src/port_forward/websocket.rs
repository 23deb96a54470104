//! SPDY tunnelled through a WebSocket (KEP-4006): after the handshake every binary message
//! carries the next bytes of the SPDY session, in either direction, with no framing of its
//! own (client-go's `TunnelingConnection`). [`byte_stream`] turns the upgraded connection's
//! messages into a reader and a writer of those bytes; tungstenite answers PINGs and
//! CLOSE.

use std::io;

use bytes::Bytes;
use futures::{SinkExt, StreamExt, future::ready};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::io::{CopyToBytes, SinkWriter, StreamReader};

/// A WebSocket message or frame larger than this ends the connection (kubectl's are at most
/// 32 KiB and a SPDY frame head).
const MAX_MESSAGE: usize = 2 << 20;

/// The bytes carried by the WebSocket on `io`: what the client sends, and where to write.
pub(super) async fn byte_stream<IO>(
    io: IO,
) -> (
    impl AsyncRead + Unpin + Send,
    impl AsyncWrite + Unpin + Send,
)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
    let (sink, messages) = socket.split();
    let incoming = messages
        .take_while(|message| ready(!matches!(message, Ok(Message::Close(_)))))
        .filter_map(|message| {
            ready(match message {
                Ok(Message::Binary(data)) => Some(Ok(data)),
                Ok(Message::Text(_)) => Some(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a text message in a SPDY tunnel",
                ))),
                // Pings are answered by tungstenite; pongs and raw frames carry nothing.
                Ok(_) => None,
                Err(e) => Some(Err(io::Error::other(e))),
            })
        });
    let outgoing = sink
        .with(|data: Bytes| ready(Ok::<_, tungstenite::Error>(Message::Binary(data))))
        .sink_map_err(io::Error::other);
    (
        StreamReader::new(Box::pin(incoming)),
        SinkWriter::new(CopyToBytes::new(Box::pin(outgoing))),
    )
}
