//! wasi:sockets/tcp over the overlay: bind/listen publish virtual addresses, connect is routed
//! through [`crate::network::PodNetwork::connect`], addresses reported are virtual.

use super::addressing::same;
use super::{VirtualSocketsView, net_error};
use crate::network::{Proto, REAL_HOST};
use futures::FutureExt;
use std::net::SocketAddr;
use wasmtime::component::Resource;
use wasmtime_wasi::p2::bindings::sockets::network::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Network,
};
use wasmtime_wasi::p2::bindings::sockets::tcp::{self, HostTcpSocket, ShutdownType};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, DynPollable, SocketResult, TcpSocket};
use wasmtime_wasi::sockets::WasiSocketsCtxView;

type Inner<'a> = WasiSocketsCtxView<'a>;

impl tcp::Host for VirtualSocketsView<'_> {}

impl VirtualSocketsView<'_> {
    /// Records the binding after the real bind completed.
    fn tcp_bound(&mut self, this: &Resource<TcpSocket>, requested: SocketAddr) -> SocketResult<()> {
        let real: SocketAddr =
            <Inner as HostTcpSocket>::local_address(&mut self.inner, same(this))?.into();
        self.record_bound(this.rep(), Proto::Tcp, requested, real)
    }
}

impl HostTcpSocket for VirtualSocketsView<'_> {
    async fn start_bind(
        &mut self,
        this: Resource<TcpSocket>,
        network: Resource<Network>,
        local_address: IpSocketAddress,
    ) -> SocketResult<()> {
        let requested: SocketAddr = local_address.into();
        let real = self.real_bind_address(Proto::Tcp, requested)?;
        <Inner as HostTcpSocket>::start_bind(&mut self.inner, same(&this), network, real.into())
            .await?;
        self.meta(this.rep()).requested = Some(requested);
        Ok(())
    }

    fn finish_bind(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        <Inner as HostTcpSocket>::finish_bind(&mut self.inner, same(&this))?;
        let requested = self.requested_bind(this.rep())?;
        self.tcp_bound(&this, requested)
    }

    fn start_connect(
        &mut self,
        this: Resource<TcpSocket>,
        network: Resource<Network>,
        remote_address: IpSocketAddress,
    ) -> SocketResult<()> {
        let remote: SocketAddr = remote_address.into();
        let target = self
            .pod
            .net
            .connect(&self.pod.pod, remote)
            .map_err(net_error)?;
        if self.meta(this.rep()).real_local.is_none() {
            // Bind the client on loopback first, so the server side can map the client's
            // real port back to this pod's IP. wasmtime-wasi's bind completes without
            // waiting (the address check is immediate), so polling once is enough.
            let any = SocketAddr::new(REAL_HOST, 0);
            let net = same(&network);
            <Inner as HostTcpSocket>::start_bind(&mut self.inner, same(&this), net, any.into())
                .now_or_never()
                .ok_or(ErrorCode::WouldBlock)??;
            <Inner as HostTcpSocket>::finish_bind(&mut self.inner, same(&this))?;
            let unspecified = SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), 0);
            self.tcp_bound(&this, unspecified)?;
        }
        <Inner as HostTcpSocket>::start_connect(
            &mut self.inner,
            same(&this),
            network,
            target.into(),
        )?;
        self.meta(this.rep()).remote = Some(remote);
        Ok(())
    }

    fn finish_connect(
        &mut self,
        this: Resource<TcpSocket>,
    ) -> SocketResult<(Resource<DynInputStream>, Resource<DynOutputStream>)> {
        <Inner as HostTcpSocket>::finish_connect(&mut self.inner, this)
    }

    async fn start_listen(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        <Inner as HostTcpSocket>::start_listen(&mut self.inner, same(&this)).await?;
        let local = self.meta(this.rep()).local.ok_or(ErrorCode::InvalidState)?;
        self.pod.net.listen(&self.pod.pod, local).map_err(net_error)
    }

    fn finish_listen(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        <Inner as HostTcpSocket>::finish_listen(&mut self.inner, this)
    }

    fn accept(
        &mut self,
        this: Resource<TcpSocket>,
    ) -> SocketResult<(
        Resource<TcpSocket>,
        Resource<DynInputStream>,
        Resource<DynOutputStream>,
    )> {
        let local = self.meta(this.rep()).local;
        let (sock, input, output) = <Inner as HostTcpSocket>::accept(&mut self.inner, this)?;
        let real_peer = <Inner as HostTcpSocket>::remote_address(&mut self.inner, same(&sock))
            .map(SocketAddr::from)
            .ok();
        let remote = real_peer.map(|p| self.pod.net.virtual_of(Proto::Tcp, p).unwrap_or(p));
        let m = self.meta(sock.rep());
        m.proto = Some(Proto::Tcp);
        m.local = local;
        m.remote = remote;
        Ok((sock, input, output))
    }

    fn local_address(&mut self, this: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        self.virtual_local(this.rep())
    }

    fn remote_address(&mut self, this: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        // Ask the real socket first: it fails correctly while unconnected.
        let real: SocketAddr =
            <Inner as HostTcpSocket>::remote_address(&mut self.inner, same(&this))?.into();
        let remote = self.meta(this.rep()).remote;
        Ok(remote
            .or_else(|| self.pod.net.virtual_of(Proto::Tcp, real))
            .unwrap_or(real)
            .into())
    }

    fn is_listening(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<bool> {
        <Inner as HostTcpSocket>::is_listening(&mut self.inner, this)
    }

    fn address_family(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<IpAddressFamily> {
        <Inner as HostTcpSocket>::address_family(&mut self.inner, this)
    }

    fn set_listen_backlog_size(
        &mut self,
        this: Resource<TcpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        <Inner as HostTcpSocket>::set_listen_backlog_size(&mut self.inner, this, value)
    }

    fn keep_alive_enabled(&mut self, this: Resource<TcpSocket>) -> SocketResult<bool> {
        <Inner as HostTcpSocket>::keep_alive_enabled(&mut self.inner, this)
    }

    fn set_keep_alive_enabled(
        &mut self,
        this: Resource<TcpSocket>,
        value: bool,
    ) -> SocketResult<()> {
        <Inner as HostTcpSocket>::set_keep_alive_enabled(&mut self.inner, this, value)
    }

    fn keep_alive_idle_time(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        <Inner as HostTcpSocket>::keep_alive_idle_time(&mut self.inner, this)
    }

    fn set_keep_alive_idle_time(
        &mut self,
        this: Resource<TcpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        <Inner as HostTcpSocket>::set_keep_alive_idle_time(&mut self.inner, this, value)
    }

    fn keep_alive_interval(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        <Inner as HostTcpSocket>::keep_alive_interval(&mut self.inner, this)
    }

    fn set_keep_alive_interval(
        &mut self,
        this: Resource<TcpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        <Inner as HostTcpSocket>::set_keep_alive_interval(&mut self.inner, this, value)
    }

    fn keep_alive_count(&mut self, this: Resource<TcpSocket>) -> SocketResult<u32> {
        <Inner as HostTcpSocket>::keep_alive_count(&mut self.inner, this)
    }

    fn set_keep_alive_count(&mut self, this: Resource<TcpSocket>, value: u32) -> SocketResult<()> {
        <Inner as HostTcpSocket>::set_keep_alive_count(&mut self.inner, this, value)
    }

    fn hop_limit(&mut self, this: Resource<TcpSocket>) -> SocketResult<u8> {
        <Inner as HostTcpSocket>::hop_limit(&mut self.inner, this)
    }

    fn set_hop_limit(&mut self, this: Resource<TcpSocket>, value: u8) -> SocketResult<()> {
        <Inner as HostTcpSocket>::set_hop_limit(&mut self.inner, this, value)
    }

    fn receive_buffer_size(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        <Inner as HostTcpSocket>::receive_buffer_size(&mut self.inner, this)
    }

    fn set_receive_buffer_size(
        &mut self,
        this: Resource<TcpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        <Inner as HostTcpSocket>::set_receive_buffer_size(&mut self.inner, this, value)
    }

    fn send_buffer_size(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        <Inner as HostTcpSocket>::send_buffer_size(&mut self.inner, this)
    }

    fn set_send_buffer_size(&mut self, this: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        <Inner as HostTcpSocket>::set_send_buffer_size(&mut self.inner, this, value)
    }

    fn subscribe(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<Resource<DynPollable>> {
        <Inner as HostTcpSocket>::subscribe(&mut self.inner, this)
    }

    fn shutdown(&mut self, this: Resource<TcpSocket>, how: ShutdownType) -> SocketResult<()> {
        <Inner as HostTcpSocket>::shutdown(&mut self.inner, this, how)
    }

    fn drop(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<()> {
        self.forget_socket(this.rep());
        <Inner as HostTcpSocket>::drop(&mut self.inner, this)
    }
}
