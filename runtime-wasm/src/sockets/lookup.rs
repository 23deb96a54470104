//! wasi:sockets/ip-name-lookup answered by the overlay: names never reach real DNS.
//!
//! The overlay resolves the name; only the resulting IP literal is handed to wasmtime-wasi,
//! which parses literals without any lookup. Unknown names fail with `name-unresolvable`.
//! A name with several addresses (a headless Service) hands the first to wasmtime-wasi's
//! stream and keeps the rest per stream, answered after the inner stream runs dry.

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
        let mut ips = ips.into_iter();
        let first = ips.next().ok_or(ErrorCode::NameUnresolvable)?;
        let stream =
            <Inner as Host>::resolve_addresses(&mut self.inner, network, first.to_string())?;
        if ips.len() > 0 {
            self.pod.more_addresses.insert(stream.rep(), ips);
        }
        Ok(stream)
    }
}

impl HostResolveAddressStream for VirtualSocketsView<'_> {
    fn resolve_next_address(
        &mut self,
        this: Resource<ResolveAddressStream>,
    ) -> Result<Option<IpAddress>, SocketError> {
        let rep = this.rep();
        match <Inner as HostResolveAddressStream>::resolve_next_address(&mut self.inner, this)? {
            Some(ip) => Ok(Some(ip)),
            None => Ok(self
                .pod
                .more_addresses
                .get_mut(&rep)
                .and_then(|rest| rest.next())
                .map(IpAddress::from)),
        }
    }

    fn subscribe(
        &mut self,
        this: Resource<ResolveAddressStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        <Inner as HostResolveAddressStream>::subscribe(&mut self.inner, this)
    }

    fn drop(&mut self, this: Resource<ResolveAddressStream>) -> wasmtime::Result<()> {
        self.pod.more_addresses.remove(&this.rep());
        <Inner as HostResolveAddressStream>::drop(&mut self.inner, this)
    }
}
