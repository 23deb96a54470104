//! The tie between a guest's `tcp-socket` handle and skiff's socket: the resource table
//! holds a [`SharedTcp`] under the handle's rep (the bindings type the handle as
//! wasmtime-wasi's `TcpSocket`, which is never made; handles convert by rep), made by
//! skiff's `tcp-create-socket`. Also the handle's pollable, the loopback fence, binding,
//! and handing out a connection's streams.

use super::VirtualSocketsView;
use super::tcp_socket::{OwnTcp, Pending, TcpState};
use super::tcp_stream::{Conn, TcpIn, TcpOut};
use crate::network::Proto;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use wasmtime::component::Resource;
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddressFamily};
use wasmtime_wasi::p2::bindings::sockets::tcp_create_socket;
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, SocketResult, TcpSocket};
use wasmtime_wasi::sockets::SocketAddrUse;

/// A guest TCP socket's real side, shared with its pollables.
pub(super) type SharedTcp = Arc<Mutex<OwnTcp>>;

/// The `pollable` of a socket: ready when the pending finish-* would not block, or (listening)
/// once a connection arrived.
pub(super) struct SocketReady(pub(super) SharedTcp);

#[wasmtime_wasi_io::async_trait]
impl wasmtime_wasi_io::poll::Pollable for SocketReady {
    async fn ready(&mut self) {
        std::future::poll_fn(|cx| {
            let mut own = skiff_sync::lock(&self.0);
            match own.state {
                TcpState::Connecting(_) => own.poll_connect(cx).map(|_| ()),
                // Between start-listen and finish-listen the pollable is ready at once
                // (finish-listen would not block); after it, once a connection arrived.
                TcpState::Listening { .. } if own.pending.is_none() => own.poll_arrival(cx),
                _ => Poll::Ready(()),
            }
        })
        .await
    }
}

impl VirtualSocketsView<'_> {
    /// skiff's side of the guest socket `this`.
    pub(super) fn own_tcp(&mut self, this: &Resource<TcpSocket>) -> SocketResult<SharedTcp> {
        let entry = Resource::<SharedTcp>::new_borrow(this.rep());
        Ok(self.inner.table.get(&entry)?.clone())
    }

    /// A new guest socket in the table: `own` under a handle of the guest's type.
    pub(super) fn push_tcp(&mut self, own: OwnTcp) -> SocketResult<Resource<TcpSocket>> {
        let entry: SharedTcp = Arc::new(Mutex::new(own));
        let entry = self.inner.table.push(entry)?;
        Ok(Resource::new_own(entry.rep()))
    }

    /// Removes the guest socket `this` from the table (its streams must be gone).
    pub(super) fn delete_tcp(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<()> {
        let entry = Resource::<SharedTcp>::new_own(this.rep());
        self.inner.table.delete(entry)?;
        Ok(())
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

impl tcp_create_socket::Host for VirtualSocketsView<'_> {
    /// A guest socket without an OS socket: skiff's [`OwnTcp`] makes one at bind or connect.
    fn create_tcp_socket(&mut self, family: IpAddressFamily) -> SocketResult<Resource<TcpSocket>> {
        let ipv6 = matches!(family, IpAddressFamily::Ipv6);
        self.push_tcp(OwnTcp::new(ipv6, self.pod.usage.clone()))
    }
}
