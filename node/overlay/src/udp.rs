//! UDP flows across nodes. A relay socket on loopback per (local pod IP, remote pod
//! address) stands for the remote pod: `send` returns it, and it is registered as the remote
//! address, so the guest sees replies coming from the remote pod (a connected UDP socket
//! keeps working: the replies come from the address it connected to). Datagrams a guest
//! sends to the relay go on a tunnel stream per (virtual source, destination), each one
//! framed as a 2-byte big-endian length and the payload (`POST /v1/udp`). Datagrams from a
//! peer's stream leave the relay of (destination pod, remote source) towards the guest's
//! socket. An idle relay closes after [`IDLE`]. Overflow drops datagrams, as UDP may.

use crate::body::{Body, BodySender, channel_body};
use crate::network::Shared;
use crate::route::{Decision, decide};
use crate::{DESTINATION_HEADER, SOURCE_HEADER, UDP_PATH};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use skiff_runtime_wasm::network::{NetError, PodNetwork, PodRef, Proto, REAL_HOST};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A relay with no datagram either way for this long closes.
const IDLE: Duration = Duration::from_secs(120);
/// Datagrams from the tunnel waiting for a relay's socket.
const INBOUND_DEPTH: usize = 256;

/// One relay: its loopback address and the queue of datagrams to deliver to local guests.
struct Relay {
    real: SocketAddr,
    deliver: mpsc::Sender<(Bytes, SocketAddr)>,
    stop: CancellationToken,
}

/// The node's UDP relays, by (local pod IP, remote pod address).
#[derive(Default)]
pub(crate) struct UdpRelays {
    relays: Mutex<HashMap<(IpAddr, SocketAddr), Relay>>,
}

impl UdpRelays {
    /// Closes the relays of a pod that is gone.
    pub(crate) fn remove_pod(&self, pod_ip: IpAddr) {
        skiff_sync::lock(&self.relays).retain(|(ip, _), relay| {
            if *ip == pod_ip {
                relay.stop.cancel();
            }
            *ip != pod_ip
        });
    }
}

/// The relay standing for `remote` towards the guests of `pod_ip` (created when missing):
/// what `send` returns for a datagram to a pod of another node.
pub(crate) fn relay_for(
    shared: &Arc<Shared>,
    pod_ip: IpAddr,
    remote: SocketAddr,
) -> Result<SocketAddr, NetError> {
    relay(shared, pod_ip, remote).map(|(real, _)| real)
}

fn relay(
    shared: &Arc<Shared>,
    pod_ip: IpAddr,
    remote: SocketAddr,
) -> Result<(SocketAddr, mpsc::Sender<(Bytes, SocketAddr)>), NetError> {
    let mut relays = skiff_sync::lock(&shared.udp.relays);
    if let Some(r) = relays
        .get(&(pod_ip, remote))
        .filter(|r| !r.deliver.is_closed())
    {
        return Ok((r.real, r.deliver.clone()));
    }
    let refused = |_| NetError::Refused(remote);
    let socket = std::net::UdpSocket::bind((REAL_HOST, 0)).map_err(refused)?;
    socket.set_nonblocking(true).map_err(refused)?;
    let real = socket.local_addr().map_err(refused)?;
    shared.local.add_reverse(Proto::Udp, real, remote);
    let (deliver, queue) = mpsc::channel(INBOUND_DEPTH);
    let stop = shared.shutdown.child_token();
    let task = run(shared.clone(), socket, pod_ip, remote, queue, stop.clone());
    shared.tasks.spawn_on(task, &shared.handle);
    let entry = Relay {
        real,
        deliver: deliver.clone(),
        stop,
    };
    relays.insert((pod_ip, remote), entry);
    Ok((real, deliver))
}

/// One relay's loop: guest datagrams to the tunnel, tunnel datagrams to the guests.
async fn run(
    shared: Arc<Shared>,
    socket: std::net::UdpSocket,
    pod_ip: IpAddr,
    remote: SocketAddr,
    mut queue: mpsc::Receiver<(Bytes, SocketAddr)>,
    stop: CancellationToken,
) {
    let real = socket.local_addr().ok();
    if let Ok(socket) = UdpSocket::from_std(socket) {
        let mut streams: HashMap<SocketAddr, BodySender> = HashMap::new();
        let mut buf = vec![0u8; 65536];
        let remote_pod = PodRef {
            ip: remote.ip(),
            namespace: Arc::from(""),
        };
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(IDLE) => break,
                received = socket.recv_from(&mut buf) => {
                    let Ok((n, from)) = received else { continue };
                    let Some(source) = shared.local.virtual_of(Proto::Udp, from) else { continue };
                    if source.ip() != pod_ip {
                        continue;
                    }
                    forward(&shared, &mut streams, source, remote, &buf[..n]).await;
                }
                Some((datagram, destination)) = queue.recv() => {
                    if let Ok(target) = shared.local.route(&remote_pod, Proto::Udp, destination) {
                        let _ = socket.send_to(&datagram, target).await;
                    }
                }
            }
        }
    }
    let mut relays = skiff_sync::lock(&shared.udp.relays);
    if real.is_some() && relays.get(&(pod_ip, remote)).map(|r| r.real) == real {
        relays.remove(&(pod_ip, remote));
    }
    if let Some(real) = real {
        shared.local.remove_reverse(Proto::Udp, real, remote);
    }
}

/// Sends one datagram from guest address `source` to `remote` on its stream, opening it
/// when missing.
async fn forward(
    shared: &Arc<Shared>,
    streams: &mut HashMap<SocketAddr, BodySender>,
    source: SocketAddr,
    remote: SocketAddr,
    payload: &[u8],
) {
    let Ok(len) = u16::try_from(payload.len()) else {
        return;
    };
    let mut frame = BytesMut::with_capacity(2 + payload.len());
    frame.put_u16(len);
    frame.put_slice(payload);
    let tx = match streams.entry(source) {
        Entry::Occupied(open) => open.into_mut(),
        Entry::Vacant(missing) => match open_stream(shared, source, remote).await {
            Some(tx) => missing.insert(tx),
            None => return,
        },
    };
    if let Err(e) = tx.try_send(Ok(Frame::data(frame.freeze())))
        && e.is_disconnected()
    {
        streams.remove(&source);
    }
}

/// Opens the stream for datagrams from `source` to `remote`.
async fn open_stream(
    shared: &Arc<Shared>,
    source: SocketAddr,
    remote: SocketAddr,
) -> Option<BodySender> {
    let Decision::Peer { node, tunnel } =
        decide(&skiff_sync::read(&shared.tables), &shared.node, remote.ip())
    else {
        return None;
    };
    let flow = (source, remote);
    let sender = (shared.peers).sender((&node, tunnel), flow, &shared.tasks, &shared.shutdown);
    let mut sender = match sender.await {
        Ok(sender) => sender,
        Err(e) => {
            tracing::warn!(%source, %remote, "no tunnel for a UDP flow: {e}");
            return None;
        }
    };
    let (tx, body) = channel_body();
    let mut request = http::Request::post(UDP_PATH)
        .header(SOURCE_HEADER, source.to_string())
        .header(DESTINATION_HEADER, remote.to_string())
        .body(body)
        .ok()?;
    crate::from_outside::stamp(shared, request.headers_mut(), source);
    let stop = shared.shutdown.clone();
    shared.tasks.spawn(async move {
        let response = tokio::select! {
            () = stop.cancelled() => return,
            response = sender.send_request(request) => response,
        };
        match response {
            // Held open until the flow ends: it carries nothing back.
            Ok(response) if response.status().is_success() => {
                let mut body = response.into_body();
                tokio::select! {
                    () = stop.cancelled() => {}
                    () = async { while let Some(Ok(_)) = body.frame().await {} } => {}
                }
            }
            Ok(response) => {
                tracing::debug!(%source, %remote, status = %response.status(), "UDP flow refused")
            }
            Err(e) => tracing::debug!(%source, %remote, "UDP flow failed: {e}"),
        }
    });
    Some(tx)
}

/// A UDP flow from remote `source` to a bound UDP socket of this node at `destination`.
pub(crate) fn accept(
    shared: &Arc<Shared>,
    source: SocketAddr,
    destination: SocketAddr,
    body: Incoming,
) -> Result<Body, NetError> {
    let remote = PodRef {
        ip: source.ip(),
        namespace: Arc::from(""),
    };
    shared.local.route(&remote, Proto::Udp, destination)?;
    let (_, deliver) = relay(shared, destination.ip(), source)?;
    let (keep_open, response) = channel_body();
    let stop = shared.shutdown.clone();
    shared.tasks.spawn(async move {
        tokio::select! {
            () = stop.cancelled() => {}
            () = deliver_frames(body, deliver, destination) => {}
        }
        drop(keep_open);
    });
    Ok(response)
}

/// Splits a stream into datagrams and queues each for delivery to `destination`.
async fn deliver_frames(
    mut body: Incoming,
    deliver: mpsc::Sender<(Bytes, SocketAddr)>,
    destination: SocketAddr,
) {
    let mut pending = BytesMut::new();
    while let Some(Ok(frame)) = body.frame().await {
        let Ok(data) = frame.into_data() else {
            continue;
        };
        pending.extend_from_slice(&data);
        while pending.len() >= 2 {
            let len = usize::from(u16::from_be_bytes([pending[0], pending[1]]));
            if pending.len() < 2 + len {
                break;
            }
            pending.advance(2);
            let datagram = pending.split_to(len).freeze();
            if let Err(mpsc::error::TrySendError::Closed(_)) =
                deliver.try_send((datagram, destination))
            {
                return;
            }
        }
    }
}
