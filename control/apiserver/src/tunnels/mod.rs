//! Node tunnels: connections node agents open to this replica (`GET /skiff/v1/tunnel`,
//! upgraded), on which this replica is the HTTP/2 client and the agent the server, so the
//! API server reaches an agent behind NAT (`pods/log`, metrics, `pods/portforward`). `Tunnels` maps a node name to the
//! newest tunnel from it; `accept` takes the upgrade.
//!
//! A tunnel is owned by one task (in the API server's `TaskTracker`) that drives its
//! connection and unregisters it when it closes or the server shuts down.

mod accept;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use hyper::client::conn::http2::SendRequest;
use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use tokio::sync::mpsc;

pub use accept::{TUNNEL_PATH, TUNNEL_PROTOCOL};

/// The request body of every call through a tunnel: empty (the GETs), or the bytes a
/// port-forward client sends, as they come.
#[derive(Default)]
pub(crate) struct TunnelRequestBody {
    upload: Option<mpsc::Receiver<Bytes>>,
}

impl TunnelRequestBody {
    /// An empty body.
    pub(crate) fn new() -> TunnelRequestBody {
        TunnelRequestBody::default()
    }

    /// A body of what `upload` yields, ending when its senders are gone.
    pub(crate) fn streaming(upload: mpsc::Receiver<Bytes>) -> TunnelRequestBody {
        TunnelRequestBody {
            upload: Some(upload),
        }
    }
}

impl Body for TunnelRequestBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut self.get_mut().upload {
            None => Poll::Ready(None),
            Some(upload) => upload
                .poll_recv(cx)
                .map(|data| data.map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.upload.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.upload {
            None => SizeHint::with_exact(0),
            Some(_) => SizeHint::default(),
        }
    }
}

struct Registered {
    /// Tells this tunnel from a newer one of the same node.
    id: u64,
    sender: SendRequest<TunnelRequestBody>,
}

/// The open tunnels of this replica, by node name.
#[derive(Default)]
pub(crate) struct Tunnels {
    by_node: Mutex<HashMap<String, Registered>>,
    next_id: AtomicU64,
}

impl Tunnels {
    /// Makes `sender` the node's tunnel (replacing an older one); returns its id.
    fn register(&self, node: &str, sender: SendRequest<TunnelRequestBody>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        skiff_sync::lock(&self.by_node).insert(node.to_owned(), Registered { id, sender });
        id
    }

    /// Forgets the node's tunnel if it is still tunnel `id`.
    fn unregister(&self, node: &str, id: u64) {
        let mut by_node = skiff_sync::lock(&self.by_node);
        if by_node.get(node).is_some_and(|r| r.id == id) {
            by_node.remove(node);
        }
    }

    /// A handle on the node's open tunnel; a closed one is dropped and `None` returned.
    pub(crate) fn sender(&self, node: &str) -> Option<SendRequest<TunnelRequestBody>> {
        let mut by_node = skiff_sync::lock(&self.by_node);
        let registered = by_node.get(node)?;
        if registered.sender.is_closed() {
            by_node.remove(node);
            return None;
        }
        Some(registered.sender.clone())
    }
}
