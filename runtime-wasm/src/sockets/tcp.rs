//! wasi:sockets/tcp over the overlay, on skiff's own sockets: bind/listen publish virtual
//! addresses, connect is routed through [`crate::network::PodNetwork::connect`], addresses
//! reported are virtual, and a connection's bytes flow through skiff's streams
//! ([`super::tcp_stream`]). The guest's handle names skiff's [`OwnTcp`] in the resource
//! table ([`super::tcp_handles`]); socket options are [`super::tcp_options`].

use super::tcp_handles::{SocketReady, finish};
use super::tcp_socket::{OwnTcp, Pending, TcpState};
use super::{VirtualSocketsView, net_error};
use crate::network::{Proto, REAL_HOST};
use std::net::SocketAddr;

use std::task::{Context, Poll, Waker};
use wasmtime::component::Resource;
use wasmtime_wasi::p2::bindings::sockets::network::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Network,
};
use wasmtime_wasi::p2::bindings::sockets::tcp::{self, HostTcpSocket, ShutdownType};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, DynPollable, SocketResult, TcpSocket};
use wasmtime_wasi::sockets::SocketAddrUse;

impl tcp::Host for VirtualSocketsView<'_> {}

impl HostTcpSocket for VirtualSocketsView<'_> {
    async fn start_bind(
        &mut self,
        this: Resource<TcpSocket>,
        network: Resource<Network>,
        local_address: IpSocketAddress,
    ) -> SocketResult<()> {
        self.inner.table.get(&network)?;
        let own = self.own_tcp(&this)?;
        let requested: SocketAddr = local_address.into();
        {
            let own = skiff_sync::lock(&own);
            if own.pending.is_some() {
                return Err(ErrorCode::ConcurrencyConflict.into());
            }
            own.check_address(requested, false)?;
        }
        self.bind_real(&own, this.rep(), requested)?;
        skiff_sync::lock(&own).pending = Some(Pending::Bind);
        Ok(())
    }

    fn finish_bind(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        let own = self.own_tcp(&this)?;
        finish(&own, Pending::Bind)?;
        let requested = self.requested_bind(this.rep())?;
        let real = self
            .meta(this.rep())
            .real_local
            .ok_or(ErrorCode::InvalidState)?;
        self.record_bound(this.rep(), Proto::Tcp, requested, real)
    }

    fn start_connect(
        &mut self,
        this: Resource<TcpSocket>,
        network: Resource<Network>,
        remote_address: IpSocketAddress,
    ) -> SocketResult<()> {
        self.inner.table.get(&network)?;
        let own = self.own_tcp(&this)?;
        let remote: SocketAddr = remote_address.into();
        let fresh = {
            let own = skiff_sync::lock(&own);
            if own.pending.is_some() {
                return Err(ErrorCode::ConcurrencyConflict.into());
            }
            own.check_address(remote, true)?;
            matches!(own.state, TcpState::Fresh)
        };
        let target = self
            .pod
            .net
            .connect(&self.pod.pod, remote)
            .map_err(net_error)?;
        if fresh {
            // Bind the client on loopback first, so the server side can map the client's
            // real port back to this pod's IP.
            self.fenced(SocketAddr::new(REAL_HOST, 0), SocketAddrUse::TcpBind)?;
            let real = skiff_sync::lock(&own).bind(SocketAddr::new(REAL_HOST, 0))?;
            let unspecified = SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), 0);
            self.record_bound(this.rep(), Proto::Tcp, unspecified, real)?;
        }
        self.fenced(target, SocketAddrUse::TcpConnect)?;
        let mut own = skiff_sync::lock(&own);
        own.start_connect(target)?;
        own.pending = Some(Pending::Connect);
        drop(own);
        self.meta(this.rep()).remote = Some(remote);
        Ok(())
    }

    fn finish_connect(
        &mut self,
        this: Resource<TcpSocket>,
    ) -> SocketResult<(Resource<DynInputStream>, Resource<DynOutputStream>)> {
        let own = self.own_tcp(&this)?;
        let conn = {
            let mut own = skiff_sync::lock(&own);
            if own.pending != Some(Pending::Connect) {
                return Err(ErrorCode::NotInProgress.into());
            }
            let Poll::Ready(done) = own.poll_connect(&mut Context::from_waker(Waker::noop()))
            else {
                return Err(ErrorCode::WouldBlock.into());
            };
            own.pending = None;
            done?;
            own.take_connected()?
        };
        self.streams(conn, &this)
    }

    async fn start_listen(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        let own = self.own_tcp(&this)?;
        let real = self.meta(this.rep()).real_local;
        {
            let own = skiff_sync::lock(&own);
            if own.pending.is_some() {
                return Err(ErrorCode::ConcurrencyConflict.into());
            }
            // In WASI 0.2 a socket is bound before it listens.
            if !matches!(own.state, TcpState::Bound(_)) {
                return Err(ErrorCode::InvalidState.into());
            }
        }
        self.fenced(
            real.ok_or(ErrorCode::InvalidState)?,
            SocketAddrUse::TcpListen,
        )?;
        let local = self.meta(this.rep()).local.ok_or(ErrorCode::InvalidState)?;
        {
            let mut own = skiff_sync::lock(&own);
            own.listen()?;
            own.pending = Some(Pending::Listen);
        }
        self.pod.net.listen(&self.pod.pod, local).map_err(net_error)
    }

    fn finish_listen(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        let own = self.own_tcp(&this)?;
        finish(&own, Pending::Listen)
    }

    fn accept(
        &mut self,
        this: Resource<TcpSocket>,
    ) -> SocketResult<(
        Resource<TcpSocket>,
        Resource<DynInputStream>,
        Resource<DynOutputStream>,
    )> {
        let own = self.own_tcp(&this)?;
        let (conn, ipv6) = {
            let mut own = skiff_sync::lock(&own);
            (own.accept()?, own.ipv6)
        };
        let real_peer = conn.stream.peer_addr().ok();
        if let Some(peer) = real_peer {
            self.fenced(peer, SocketAddrUse::TcpAccept)?;
        }
        // The guest's handle for the new connection: the accepted socket is its only fd.
        let usage = self.pod.usage.clone();
        let sock = self.push_tcp(OwnTcp::accepted(ipv6, conn.clone(), usage))?;
        let local = self.meta(this.rep()).local;
        let remote = real_peer.map(|p| self.pod.net.virtual_of(Proto::Tcp, p).unwrap_or(p));
        let m = self.meta(sock.rep());
        m.proto = Some(Proto::Tcp);
        m.local = local;
        m.remote = remote;
        let (input, output) = self.streams(conn, &sock)?;
        Ok((sock, input, output))
    }

    fn local_address(&mut self, this: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        self.virtual_local(this.rep())
    }

    fn remote_address(&mut self, this: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        let own = self.own_tcp(&this)?;
        let real = skiff_sync::lock(&own).real_peer()?;
        let remote = self.meta(this.rep()).remote;
        Ok(remote
            .or_else(|| self.pod.net.virtual_of(Proto::Tcp, real))
            .unwrap_or(real)
            .into())
    }

    fn is_listening(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<bool> {
        let own = self.own_tcp(&this)?;
        let own = skiff_sync::lock(&own);
        Ok(matches!(own.state, TcpState::Listening { .. }))
    }

    fn address_family(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<IpAddressFamily> {
        let own = self.own_tcp(&this)?;
        Ok(if skiff_sync::lock(&own).ipv6 {
            IpAddressFamily::Ipv6
        } else {
            IpAddressFamily::Ipv4
        })
    }

    fn set_listen_backlog_size(
        &mut self,
        this: Resource<TcpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        let own = self.own_tcp(&this)?;
        skiff_sync::lock(&own).set_backlog(value)?;
        Ok(())
    }

    fn subscribe(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<Resource<DynPollable>> {
        let own = self.own_tcp(&this)?;
        let ready = self.inner.table.push(SocketReady(own))?;
        wasmtime_wasi_io::poll::subscribe(self.inner.table, ready)
    }

    fn shutdown(&mut self, this: Resource<TcpSocket>, how: ShutdownType) -> SocketResult<()> {
        let own = self.own_tcp(&this)?;
        let conn = skiff_sync::lock(&own).conn().cloned();
        let conn = conn.ok_or(ErrorCode::InvalidState)?;
        if matches!(how, ShutdownType::Receive | ShutdownType::Both) {
            conn.shutdown_read();
        }
        if matches!(how, ShutdownType::Send | ShutdownType::Both) {
            conn.shutdown_write();
        }
        Ok(())
    }

    fn drop(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<()> {
        self.forget_socket(this.rep());
        self.delete_tcp(this)
    }

    super::tcp_options::tcp_options!();
}
