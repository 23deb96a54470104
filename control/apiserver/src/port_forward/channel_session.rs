//! One WebSocket speaking the channel port-forward protocol ([`super::channel`]): as the
//! kubelet's `handleWebSocketStreams`, each requested port is one forwarded connection (one
//! request through the node tunnel, [`forward::run`]) opened at once; the server first writes
//! the port on both of its channels, then the pod's bytes on the data channel and a failure,
//! in the kubelet's words, on the error channel. The client's data-channel messages are the
//! upload. When every port's forward has ended the server closes the WebSocket; when the
//! client closes it (or `shutdown` fires) the forwards are reset.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_util::sync::CancellationToken;

use super::channel::{Framing, channel_port, port_prefix};
use super::forward::{self, ClientGone, Downstream, Half, PodTarget};

/// A WebSocket message or frame larger than this ends the connection.
const MAX_MESSAGE: usize = 2 << 20;
/// Messages queued towards the client (and, per port, towards the pod) before the writer waits.
const QUEUE: usize = 16;
/// Forwards still running when the client has gone get this long to finish.
const FORWARD_GRACE: Duration = Duration::from_secs(2);
/// After the server's CLOSE, the client's answer is awaited this long.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// One channel towards the client: its messages go to the connection's writer.
#[derive(Clone)]
struct ChannelOut {
    channel: u8,
    framing: Framing,
    messages: mpsc::Sender<Message>,
}

impl Downstream for ChannelOut {
    async fn send(&self, data: Bytes) -> Result<(), ClientGone> {
        let message = self.framing.encode(self.channel, &data);
        self.messages.send(message).await.map_err(|_| ClientGone)
    }

    /// The channel protocol has no end of one channel: the forward's end is seen by its
    /// owner, which closes the WebSocket when every port's forward has ended.
    async fn finish(&self) -> Result<(), ClientGone> {
        Ok(())
    }
}

/// Serves the WebSocket on `io` for `ports` of `pod` until it ends or `shutdown` fires.
pub(super) async fn serve<IO>(
    io: IO,
    framing: Framing,
    ports: Vec<u16>,
    pod: Arc<PodTarget>,
    shutdown: CancellationToken,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
    let (mut sink, mut incoming) = socket.split();
    // Room for every port's two prefixes, written before anything is sent.
    let (messages, mut outgoing) = mpsc::channel(QUEUE + 2 * ports.len());
    let reset = shutdown.child_token();
    let mut forwards = JoinSet::new();
    let mut uploads = Vec::with_capacity(ports.len());
    for (index, port) in ports.iter().copied().enumerate() {
        let (data, error) = open_port(index, port, framing, &messages, &reset);
        let (upload, data) = data;
        uploads.push(Some(upload));
        forwards.spawn(forward::run(data, error, port, pod.clone()));
    }
    drop(messages);
    let finished = loop {
        tokio::select! {
            message = outgoing.recv() => match message {
                Some(message) => if sink.send(message).await.is_err() { break false },
                // Every forward ended: the server closes.
                None => break true,
            },
            message = incoming.next() => match message {
                Some(Ok(message)) if !message.is_close() => {
                    if let Err(why) = upload(message, framing, &mut uploads).await {
                        tracing::info!(pod = %pod.name, "port-forward WebSocket refused: {why}");
                        break false;
                    }
                }
                // The client closed (tungstenite answers its CLOSE) or the connection broke.
                _ => break false,
            },
            () = reset.cancelled() => break false,
        }
    };
    reset.cancel();
    drop((uploads, outgoing));
    let drained = tokio::time::timeout(FORWARD_GRACE, async {
        while forwards.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        forwards.shutdown().await;
    }
    close(sink, incoming, finished).await;
}

/// The channels of port `index`: the port written first on both, then a data half whose
/// upload sender is returned, and an error half.
#[allow(
    clippy::type_complexity,
    reason = "a private pair of pairs, named at its one use"
)]
fn open_port(
    index: usize,
    port: u16,
    framing: Framing,
    messages: &mpsc::Sender<Message>,
    reset: &CancellationToken,
) -> ((mpsc::Sender<Bytes>, Half<ChannelOut>), Half<ChannelOut>) {
    let data_channel = u8::try_from(index * 2).unwrap_or(u8::MAX);
    let out = |channel: u8| ChannelOut {
        channel,
        framing,
        messages: messages.clone(),
    };
    for channel in [data_channel, data_channel.saturating_add(1)] {
        // The queue is fresh and has room for two prefixes per port.
        let _ = messages.try_send(framing.encode(channel, &port_prefix(port)));
    }
    let (upload, data) = mpsc::channel(QUEUE);
    let data = Half {
        data: Some(data),
        reset: reset.clone(),
        out: out(data_channel),
    };
    let error = Half {
        data: None,
        reset: reset.clone(),
        out: out(data_channel.saturating_add(1)),
    };
    ((upload, data), error)
}

/// A client's message: data-channel bytes go to that port's upload; messages to an error
/// channel or to a channel the connection lacks are dropped, as wsstream does.
async fn upload(
    message: Message,
    framing: Framing,
    uploads: &mut [Option<mpsc::Sender<Bytes>>],
) -> Result<(), super::channel::FrameError> {
    let Some((channel, data)) = framing.decode(message)? else {
        return Ok(());
    };
    let (index, is_data) = channel_port(channel);
    let Some(slot) = uploads.get_mut(index).filter(|_| is_data) else {
        tracing::debug!("port-forward message for channel {channel} dropped");
        return Ok(());
    };
    if let Some(sender) = slot
        && sender.send(data).await.is_err()
    {
        // The forward ended: later bytes for this port have nowhere to go.
        *slot = None;
    }
    Ok(())
}

/// Ends the WebSocket: the server's CLOSE when it ended the session, then the client's
/// answer (or its own CLOSE, answered by tungstenite) is awaited briefly.
async fn close<S, R>(mut sink: S, mut incoming: R, server_closes: bool)
where
    S: futures::Sink<Message> + Unpin,
    R: futures::Stream + Unpin,
{
    if server_closes {
        let _ = sink.send(Message::Close(None)).await;
    }
    let _ = sink.flush().await;
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while incoming.next().await.is_some() {}
    })
    .await;
    let _ = sink.close().await;
}
