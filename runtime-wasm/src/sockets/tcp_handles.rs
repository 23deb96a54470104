//! The tie between a guest's `tcp-socket` handle (wasmtime-wasi's resource) and skiff's real
//! socket ([`OwnTcp`], keyed by the handle's rep): making it on first use, the handle's
//! pollable, the loopback fence, binding, and handing out a connection's streams.

use super::VirtualSocketsView;
use super::addressing::same;
use super::tcp::Inner;
use super::tcp_socket::{OwnTcp, Pending, TcpState};
use super::tcp_stream::{Conn, TcpIn, TcpOut};
use crate::network::Proto;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use wasmtime::component::Resource;
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddressFamily};
use wasmtime_wasi::p2::bindings::sockets::tcp::HostTcpSocket;
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, SocketResult, TcpSocket};
use wasmtime_wasi::sockets::SocketAddrUse;

/// A guest TCP socket's real side, shared with its pollables.
pub(super) type SharedTcp = Arc<Mutex<OwnTcp>>;

/// The `pollable` of a socket: ready once a connect finished or a connection arrived.
pub(super) struct SocketReady(pub(super) SharedTcp);

#[wasmtime_wasi_io::async_trait]
impl wasmtime_wasi_io::poll::Pollable for SocketReady {
    async fn ready(&mut self) {
        std::future::poll_fn(|cx| {
            let mut own = skiff_sync::lock(&self.0);
            match own.state {
                TcpState::Connecting(_) => own.poll_connect(cx).map(|_| ()),
                TcpState::Listening { .. } => own.poll_arrival(cx),
                _ => Poll::Ready(()),
            }
        })
        .await
    }
}

impl VirtualSocketsView<'_> {
    /// skiff's side of the guest socket `this`, made on first use.
    pub(super) fn own_tcp(&mut self, this: &Resource<TcpSocket>) -> SocketResult<SharedTcp> {
        if let Some(own) = self.pod.tcp.get(&this.rep()) {
            return Ok(own.clone());
        }
        let family = <Inner as HostTcpSocket>::address_family(&mut self.inner, same(this))
            .map_err(wasmtime_wasi::p2::SocketError::trap)?;
        let ipv6 = matches!(family, IpAddressFamily::Ipv6);
        let own = Arc::new(Mutex::new(OwnTcp::new(ipv6, self.pod.usage.clone())));
        self.pod.tcp.insert(this.rep(), own.clone());
        Ok(own)
    }

    /// The loopback fence for a real address skiff's own socket is about to use.
    pub(super) fn fenced(&self, addr: SocketAddr, usage: SocketAddrUse) -> SocketResult<()> {
        if super::fence_allows(&self.pod.audit, &self.pod.net, addr, usage) {
            Ok(())
        } else {
            Err(ErrorCode::AccessDenied.into())
        }
    }

    /// Binds `own`'s real socket to `real` for `requested` (virtual) and starts the bind.
    pub(super) fn bind_real(
        &mut self,
        own: &SharedTcp,
        rep: u32,
        requested: SocketAddr,
    ) -> SocketResult<()> {
        let real = self.real_bind_address(Proto::Tcp, requested)?;
        self.fenced(real, SocketAddrUse::TcpBind)?;
        let bound = skiff_sync::lock(own).bind(real)?;
        let m = self.meta(rep);
        m.requested = Some(requested);
        m.real_local = Some(bound);
        Ok(())
    }

    /// The streams of `conn`, children of the socket `parent`.
    pub(super) fn streams(
        &mut self,
        conn: Arc<Conn>,
        parent: &Resource<TcpSocket>,
    ) -> SocketResult<(Resource<DynInputStream>, Resource<DynOutputStream>)> {
        let input: DynInputStream = Box::new(TcpIn(conn.clone()));
        let output: DynOutputStream = Box::new(TcpOut(conn));
        let input = self.inner.table.push_child(input, parent)?;
        let output = self.inner.table.push_child(output, parent)?;
        Ok((input, output))
    }
}

/// The second half of a start/finish pair.
pub(super) fn finish(own: &SharedTcp, pair: Pending) -> SocketResult<()> {
    let mut own = skiff_sync::lock(own);
    if own.pending != Some(pair) {
        return Err(ErrorCode::NotInProgress.into());
    }
    own.pending = None;
    Ok(())
}
