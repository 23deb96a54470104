//! wasi:sockets with virtual addresses.
//!
//! [`VirtualSocketsView`] implements the generated `tcp`, `udp` and `ip-name-lookup` host
//! traits. Each method rewrites addresses through the pod's [`PodNetwork`]. UDP and name
//! lookup then call wasmtime-wasi's implementation on the inner [`WasiSocketsCtxView`]. TCP
//! runs on skiff's own real sockets and `wasi:io` streams (`tcp_socket`, `tcp_stream`:
//! wasmtime-wasi's stream zeroed a fresh 64 KiB buffer per read and woke a tokio task for
//! data already there), `tcp-create-socket` included: the guest's handle names skiff's
//! socket in the resource table, and an OS socket exists only from bind or connect on (no
//! file descriptor for a socket the guest only created). Guests see only virtual addresses; the real sockets live on loopback, and every
//! real address passes a loopback-only fence ([`loopback_only_check`] for wasmtime-wasi's
//! sockets, [`fence_allows`] for skiff's own). Every byte a guest socket moves is counted on
//! the container's [`UsageCounters`].

mod addressing;
mod lookup;
mod tcp;
mod tcp_handles;
mod tcp_options;
mod tcp_socket;
mod tcp_stream;
mod udp;

use crate::network::{NetError, PodNetwork, PodRef};
use crate::usage::UsageCounters;
use addressing::SocketMeta;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use wasmtime::component::{HasData, Linker};
use wasmtime_wasi::p2::SocketError;
use wasmtime_wasi::p2::bindings::sockets::network::ErrorCode;
use wasmtime_wasi::sockets::{SocketAddrUse, WasiSocketsCtxView};

/// The socket state of one store (one container instance or HTTP request).
pub struct PodSockets {
    pod: PodRef,
    net: Arc<dyn PodNetwork>,
    meta: HashMap<u32, SocketMeta>,
    /// Addresses after the first of a multi-address name, keyed by the resolve stream's rep.
    more_addresses: HashMap<u32, std::vec::IntoIter<std::net::IpAddr>>,
    /// The container's counters (bytes received and sent are booked here).
    usage: Arc<UsageCounters>,
    /// The loopback fence's record, shared with wasmtime-wasi's check.
    audit: Arc<SocketAudit>,
}

impl std::fmt::Debug for PodSockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodSockets")
            .field("pod", &self.pod)
            .finish_non_exhaustive()
    }
}

impl PodSockets {
    pub fn new(
        pod: PodRef,
        net: Arc<dyn PodNetwork>,
        usage: Arc<UsageCounters>,
        audit: Arc<SocketAudit>,
    ) -> Self {
        PodSockets {
            pod,
            net,
            meta: HashMap::new(),
            more_addresses: HashMap::new(),
            usage,
            audit,
        }
    }
}

impl Drop for PodSockets {
    fn drop(&mut self) {
        // A store torn down without dropping its sockets (guest cancelled) must still
        // release its bindings in the overlay.
        for m in self.meta.values() {
            if let (Some(proto), Some(local), Some(real)) = (m.proto, m.local, m.real_local) {
                self.net.release(&self.pod, proto, local, real);
            }
        }
    }
}

/// The view the generated host traits are implemented on.
pub struct VirtualSocketsView<'a> {
    pub inner: WasiSocketsCtxView<'a>,
    pub pod: &'a mut PodSockets,
}

/// `HasData` marker for [`VirtualSocketsView`].
#[derive(Debug)]
pub struct VirtualSockets;

impl HasData for VirtualSockets {
    type Data<'a> = VirtualSocketsView<'a>;
}

/// Replaces wasmtime-wasi's tcp, tcp-create-socket, udp and ip-name-lookup in `linker` with
/// the virtual ones.
/// Call after `wasmtime_wasi::p2::add_to_linker_async` with shadowing allowed.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> VirtualSocketsView<'_>,
) -> wasmtime::Result<()> {
    use wasmtime_wasi::p2::bindings::sockets::{ip_name_lookup, tcp, tcp_create_socket, udp};
    tcp::add_to_linker::<T, VirtualSockets>(linker, get)?;
    tcp_create_socket::add_to_linker::<T, VirtualSockets>(linker, get)?;
    udp::add_to_linker::<T, VirtualSockets>(linker, get)?;
    ip_name_lookup::add_to_linker::<T, VirtualSockets>(linker, get)?;
    Ok(())
}

/// Every address a real socket operation was about to use, as seen by the second fence.
#[derive(Debug, Default)]
pub struct SocketAudit {
    seen: Mutex<Vec<(SocketAddr, String)>>,
}

impl SocketAudit {
    /// Addresses the fence saw, with their use.
    pub fn seen(&self) -> Vec<(SocketAddr, String)> {
        skiff_sync::lock(&self.seen).clone()
    }
}

type AddrCheckFuture = Pin<Box<dyn Future<Output = bool> + Send + Sync>>;

/// wasmtime-wasi's `socket_addr_check`: allow loopback only (and what `net` granted outside
/// the overlay, [`PodNetwork::real_allowed`]), record everything.
pub fn loopback_only_check(
    audit: Arc<SocketAudit>,
    net: Arc<dyn PodNetwork>,
) -> impl Fn(SocketAddr, SocketAddrUse) -> AddrCheckFuture + Send + Sync + 'static {
    move |addr, usage| {
        let allowed = fence_allows(&audit, &net, addr, usage);
        Box::pin(async move { allowed })
    }
}

/// The fence itself: whether a real socket may use `addr` (loopback, or what `net` granted
/// outside the overlay); every address asked about is recorded in `audit`.
pub(crate) fn fence_allows(
    audit: &SocketAudit,
    net: &Arc<dyn PodNetwork>,
    addr: SocketAddr,
    usage: SocketAddrUse,
) -> bool {
    let allowed = net.real_allowed(&addr);
    skiff_sync::lock(&audit.seen).push((addr, format!("{usage:?}")));
    if !allowed {
        tracing::warn!(%addr, ?usage, "refused a non-loopback real socket address");
    }
    allowed
}

fn net_error(e: NetError) -> SocketError {
    let code = match e {
        NetError::Refused(_) => ErrorCode::ConnectionRefused,
        NetError::Unreachable(_) => ErrorCode::RemoteUnreachable,
        NetError::AddressInUse(_) => ErrorCode::AddressInUse,
        NetError::NotBindable(_) => ErrorCode::AddressNotBindable,
        NetError::NameUnresolvable(_) => ErrorCode::NameUnresolvable,
        NetError::NotSupported(_) => ErrorCode::NotSupported,
    };
    tracing::debug!(error = %e, "overlay refused a socket operation");
    code.into()
}

mod network_passthrough {
    //! `wasi:sockets/network` unchanged (the generated error conversions need it on the view).
    use super::VirtualSocketsView;
    use wasmtime::component::Resource;
    use wasmtime_wasi::p2::SocketError;
    use wasmtime_wasi::p2::bindings::sockets::network::{self, ErrorCode, Network};
    use wasmtime_wasi::sockets::WasiSocketsCtxView;

    impl network::Host for VirtualSocketsView<'_> {
        fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
            <WasiSocketsCtxView as network::Host>::convert_error_code(&mut self.inner, error)
        }

        fn network_error_code(
            &mut self,
            err: Resource<wasmtime::Error>,
        ) -> wasmtime::Result<Option<ErrorCode>> {
            <WasiSocketsCtxView as network::Host>::network_error_code(&mut self.inner, err)
        }
    }

    impl network::HostNetwork for VirtualSocketsView<'_> {
        fn drop(&mut self, this: Resource<Network>) -> wasmtime::Result<()> {
            <WasiSocketsCtxView as network::HostNetwork>::drop(&mut self.inner, this)
        }
    }
}
