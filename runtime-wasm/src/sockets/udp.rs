//! wasi:sockets/udp over the overlay: binds publish a virtual address, datagram destinations
//! go through [`crate::network::PodNetwork::send`], sources are reported as virtual addresses.

use super::addressing::same;
use super::{VirtualSocketsView, net_error};
use crate::network::Proto;
use std::net::SocketAddr;
use wasmtime::component::Resource;
use wasmtime_wasi::p2::bindings::sockets::network::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Network,
};
use wasmtime_wasi::p2::bindings::sockets::udp::{
    self, HostIncomingDatagramStream, HostOutgoingDatagramStream, HostUdpSocket, IncomingDatagram,
    IncomingDatagramStream, OutgoingDatagram, OutgoingDatagramStream,
};
use wasmtime_wasi::p2::{DynPollable, SocketResult, UdpSocket};
use wasmtime_wasi::sockets::WasiSocketsCtxView;

type Inner<'a> = WasiSocketsCtxView<'a>;

impl udp::Host for VirtualSocketsView<'_> {}

impl HostUdpSocket for VirtualSocketsView<'_> {
    async fn start_bind(
        &mut self,
        this: Resource<UdpSocket>,
        network: Resource<Network>,
        local_address: IpSocketAddress,
    ) -> SocketResult<()> {
        let requested: SocketAddr = local_address.into();
        let real = self.real_bind_address(Proto::Udp, requested)?;
        <Inner as HostUdpSocket>::start_bind(&mut self.inner, same(&this), network, real.into())
            .await?;
        self.meta(this.rep()).requested = Some(requested);
        Ok(())
    }

    fn finish_bind(&mut self, this: Resource<UdpSocket>) -> SocketResult<()> {
        <Inner as HostUdpSocket>::finish_bind(&mut self.inner, same(&this))?;
        let requested = self.requested_bind(this.rep())?;
        let real: SocketAddr =
            <Inner as HostUdpSocket>::local_address(&mut self.inner, same(&this))?.into();
        self.record_bound(this.rep(), Proto::Udp, requested, real)
    }

    async fn stream(
        &mut self,
        this: Resource<UdpSocket>,
        remote_address: Option<IpSocketAddress>,
    ) -> SocketResult<(
        Resource<IncomingDatagramStream>,
        Resource<OutgoingDatagramStream>,
    )> {
        let remote = remote_address.map(SocketAddr::from);
        let target = match remote {
            Some(r) => Some(self.pod.net.send(&self.pod.pod, r).map_err(net_error)?),
            None => None,
        };
        let streams =
            <Inner as HostUdpSocket>::stream(&mut self.inner, same(&this), target.map(Into::into))
                .await?;
        self.meta(this.rep()).remote = remote;
        Ok(streams)
    }

    fn local_address(&mut self, this: Resource<UdpSocket>) -> SocketResult<IpSocketAddress> {
        self.virtual_local(this.rep())
    }

    fn remote_address(&mut self, this: Resource<UdpSocket>) -> SocketResult<IpSocketAddress> {
        <Inner as HostUdpSocket>::remote_address(&mut self.inner, same(&this))?;
        match self.pod.meta.get(&this.rep()).and_then(|m| m.remote) {
            Some(remote) => Ok(remote.into()),
            None => Err(ErrorCode::InvalidState.into()),
        }
    }

    fn address_family(&mut self, this: Resource<UdpSocket>) -> wasmtime::Result<IpAddressFamily> {
        <Inner as HostUdpSocket>::address_family(&mut self.inner, this)
    }

    fn unicast_hop_limit(&mut self, this: Resource<UdpSocket>) -> SocketResult<u8> {
        <Inner as HostUdpSocket>::unicast_hop_limit(&mut self.inner, this)
    }

    fn set_unicast_hop_limit(&mut self, this: Resource<UdpSocket>, value: u8) -> SocketResult<()> {
        <Inner as HostUdpSocket>::set_unicast_hop_limit(&mut self.inner, this, value)
    }

    fn receive_buffer_size(&mut self, this: Resource<UdpSocket>) -> SocketResult<u64> {
        <Inner as HostUdpSocket>::receive_buffer_size(&mut self.inner, this)
    }

    fn set_receive_buffer_size(
        &mut self,
        this: Resource<UdpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        <Inner as HostUdpSocket>::set_receive_buffer_size(&mut self.inner, this, value)
    }

    fn send_buffer_size(&mut self, this: Resource<UdpSocket>) -> SocketResult<u64> {
        <Inner as HostUdpSocket>::send_buffer_size(&mut self.inner, this)
    }

    fn set_send_buffer_size(&mut self, this: Resource<UdpSocket>, value: u64) -> SocketResult<()> {
        <Inner as HostUdpSocket>::set_send_buffer_size(&mut self.inner, this, value)
    }

    fn subscribe(&mut self, this: Resource<UdpSocket>) -> wasmtime::Result<Resource<DynPollable>> {
        <Inner as HostUdpSocket>::subscribe(&mut self.inner, this)
    }

    fn drop(&mut self, this: Resource<UdpSocket>) -> wasmtime::Result<()> {
        self.forget_socket(this.rep());
        <Inner as HostUdpSocket>::drop(&mut self.inner, this)
    }
}

impl HostIncomingDatagramStream for VirtualSocketsView<'_> {
    fn receive(
        &mut self,
        this: Resource<IncomingDatagramStream>,
        max_results: u64,
    ) -> SocketResult<Vec<IncomingDatagram>> {
        let mut datagrams =
            <Inner as HostIncomingDatagramStream>::receive(&mut self.inner, this, max_results)?;
        for d in &mut datagrams {
            let real = SocketAddr::from(d.remote_address);
            if let Some(virt) = self.pod.net.virtual_of(Proto::Udp, real) {
                d.remote_address = virt.into();
            }
            self.pod.usage.received(d.data.len() as u64);
        }
        Ok(datagrams)
    }

    fn subscribe(
        &mut self,
        this: Resource<IncomingDatagramStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        <Inner as HostIncomingDatagramStream>::subscribe(&mut self.inner, this)
    }

    fn drop(&mut self, this: Resource<IncomingDatagramStream>) -> wasmtime::Result<()> {
        <Inner as HostIncomingDatagramStream>::drop(&mut self.inner, this)
    }
}

impl HostOutgoingDatagramStream for VirtualSocketsView<'_> {
    fn check_send(&mut self, this: Resource<OutgoingDatagramStream>) -> SocketResult<u64> {
        <Inner as HostOutgoingDatagramStream>::check_send(&mut self.inner, this)
    }

    fn send(
        &mut self,
        this: Resource<OutgoingDatagramStream>,
        datagrams: Vec<OutgoingDatagram>,
    ) -> SocketResult<u64> {
        let mut routed = Vec::with_capacity(datagrams.len());
        for mut d in datagrams {
            if let Some(remote) = d.remote_address {
                match self.pod.net.send(&self.pod.pod, remote.into()) {
                    Ok(real) => d.remote_address = Some(real.into()),
                    // WIT: once one datagram is accepted, later failures only shorten the count.
                    Err(_) if !routed.is_empty() => break,
                    Err(e) => return Err(net_error(e)),
                }
            }
            routed.push(d);
        }
        let sizes: Vec<u64> = routed.iter().map(|d| d.data.len() as u64).collect();
        let accepted = <Inner as HostOutgoingDatagramStream>::send(&mut self.inner, this, routed)?;
        // The first `accepted` datagrams went out (WIT: the rest were not sent).
        let count = usize::try_from(accepted).unwrap_or(usize::MAX);
        self.pod.usage.sent(sizes.iter().take(count).sum());
        Ok(accepted)
    }

    fn subscribe(
        &mut self,
        this: Resource<OutgoingDatagramStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        <Inner as HostOutgoingDatagramStream>::subscribe(&mut self.inner, this)
    }

    async fn drop(&mut self, this: Resource<OutgoingDatagramStream>) -> wasmtime::Result<()> {
        <Inner as HostOutgoingDatagramStream>::drop(&mut self.inner, this).await
    }
}
