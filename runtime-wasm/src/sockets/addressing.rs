//! The per-socket virtual addressing TCP and UDP share: the bind rewrite, recording the
//! binding once the real socket has its port, the virtual local address, and releasing it.

use super::{VirtualSocketsView, net_error};
use crate::network::Proto;
use std::net::SocketAddr;
use wasmtime::component::Resource;
use wasmtime_wasi::p2::SocketResult;
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpSocketAddress};

/// Per-socket virtual addressing, keyed by the resource's `rep`.
#[derive(Debug, Clone, Default)]
pub(super) struct SocketMeta {
    pub(super) proto: Option<Proto>,
    /// What the guest asked to bind (virtual), between start_bind and finish_bind.
    pub(super) requested: Option<SocketAddr>,
    /// Virtual local address (pod IP + port) once bound.
    pub(super) local: Option<SocketAddr>,
    /// Real loopback address the socket is bound to.
    pub(super) real_local: Option<SocketAddr>,
    /// Virtual peer, for connected sockets.
    pub(super) remote: Option<SocketAddr>,
}

/// A second handle to the same resource (`Resource` is not `Clone`).
pub(super) fn same<T: 'static>(r: &Resource<T>) -> Resource<T> {
    Resource::new_borrow(r.rep())
}

impl VirtualSocketsView<'_> {
    pub(super) fn meta(&mut self, rep: u32) -> &mut SocketMeta {
        self.pod.meta.entry(rep).or_default()
    }

    /// `start-bind`, first half: the real address to bind for the guest's `requested`.
    pub(super) fn real_bind_address(
        &mut self,
        proto: Proto,
        requested: SocketAddr,
    ) -> SocketResult<SocketAddr> {
        self.pod
            .net
            .bind(&self.pod.pod, proto, requested)
            .map_err(net_error)
    }

    /// What `start-bind` asked for, once `finish-bind` comes.
    pub(super) fn requested_bind(&mut self, rep: u32) -> SocketResult<SocketAddr> {
        Ok(self.meta(rep).requested.ok_or(ErrorCode::NotInProgress)?)
    }

    /// The real socket got bound to `real`: publish it and remember both addresses.
    pub(super) fn record_bound(
        &mut self,
        rep: u32,
        proto: Proto,
        requested: SocketAddr,
        real: SocketAddr,
    ) -> SocketResult<()> {
        let local = self
            .pod
            .net
            .bound(&self.pod.pod, proto, requested, real)
            .map_err(net_error)?;
        let m = self.meta(rep);
        m.proto = Some(proto);
        m.local = Some(local);
        m.real_local = Some(real);
        m.requested = None;
        Ok(())
    }

    /// The virtual local address (`invalid-state` until bound).
    pub(super) fn virtual_local(&mut self, rep: u32) -> SocketResult<IpSocketAddress> {
        match self.meta(rep).local {
            Some(local) => Ok(local.into()),
            None => Err(ErrorCode::InvalidState.into()),
        }
    }

    /// The guest dropped the socket: its binding leaves the overlay.
    pub(super) fn forget_socket(&mut self, rep: u32) {
        if let Some(m) = self.pod.meta.remove(&rep)
            && let (Some(proto), Some(local), Some(real)) = (m.proto, m.local, m.real_local)
        {
            self.pod.net.release(&self.pod.pod, proto, local, real);
        }
    }
}
