//! wasi:sockets/ip-name-lookup answered by the overlay: names never reach real DNS.
//!
//! The overlay resolves the name; only the resulting IP literal is handed to wasmtime-wasi,
//! which parses literals without any lookup. Unknown names fail with `name-unresolvable`.
//! Limitation: one address per name (the first), enough for ClusterIP Services.

use super::{VirtualSocketsView, net_error};
use wasmtime::component::Resource;
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::SocketError;
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{
    Host, HostResolveAddressStream, ResolveAddressStream,
};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddress, Network};
use wasmtime_wasi::sockets::WasiSocketsCtxView;

type Inner<'a> = WasiSocketsCtxView<'a>;

impl Host for VirtualSocketsView<'_> {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> Result<Resource<ResolveAddressStream>, SocketError> {
        let ips = self
            .pod
            .net
            .resolve(&self.pod.pod, &name)
            .map_err(net_error)?;
        let first = ips.first().ok_or(ErrorCode::NameUnresolvable)?;
        <Inner as Host>::resolve_addresses(&mut self.inner, network, first.to_string())
    }
}

impl HostResolveAddressStream for VirtualSocketsView<'_> {
    fn resolve_next_address(
        &mut self,
        this: Resource<ResolveAddressStream>,
    ) -> Result<Option<IpAddress>, SocketError> {
        <Inner as HostResolveAddressStream>::resolve_next_address(&mut self.inner, this)
    }

    fn subscribe(
        &mut self,
        this: Resource<ResolveAddressStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        <Inner as HostResolveAddressStream>::subscribe(&mut self.inner, this)
    }

    fn drop(&mut self, this: Resource<ResolveAddressStream>) -> wasmtime::Result<()> {
        <Inner as HostResolveAddressStream>::drop(&mut self.inner, this)
    }
}
