//! Socket options of a guest TCP socket. wasmtime-wasi's handle validates and answers them
//! (its own OS socket stores what the guest set); skiff applies each accepted setting to the
//! real socket too, at once if it exists, else when it is made ([`TcpOpt`]).

use std::os::fd::BorrowedFd;
use std::time::Duration;

/// A setting the guest made, to apply to the real socket.
#[derive(Debug, Clone, Copy)]
pub(super) enum TcpOpt {
    KeepAlive(bool),
    KeepIdle(u64),
    KeepInterval(u64),
    KeepCount(u32),
    HopLimit(u8),
    ReceiveBuffer(u64),
    SendBuffer(u64),
}

impl TcpOpt {
    /// Applies the setting to `fd` (best effort: wasmtime-wasi's handle already validated
    /// it, and what the guest reads back comes from there).
    pub(super) fn apply(self, fd: BorrowedFd<'_>, ipv6: bool) {
        use rustix::net::sockopt;
        let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        let applied = match self {
            TcpOpt::KeepAlive(on) => sockopt::set_socket_keepalive(fd, on),
            TcpOpt::KeepIdle(ns) => sockopt::set_tcp_keepidle(fd, Duration::from_nanos(ns)),
            TcpOpt::KeepInterval(ns) => sockopt::set_tcp_keepintvl(fd, Duration::from_nanos(ns)),
            TcpOpt::KeepCount(n) => sockopt::set_tcp_keepcnt(fd, n),
            TcpOpt::HopLimit(h) if ipv6 => sockopt::set_ipv6_unicast_hops(fd, Some(h)),
            TcpOpt::HopLimit(h) => sockopt::set_ip_ttl(fd, u32::from(h)),
            TcpOpt::ReceiveBuffer(v) => sockopt::set_socket_recv_buffer_size(fd, size(v)),
            TcpOpt::SendBuffer(v) => sockopt::set_socket_send_buffer_size(fd, size(v)),
        };
        if let Err(error) = applied {
            tracing::debug!(?self, %error, "socket option not applied to the real socket");
        }
    }
}

/// The option getters and setters of `HostTcpSocket`: answered by wasmtime-wasi's handle,
/// settings also applied to skiff's real socket.
macro_rules! delegate_options {
    () => {
        $crate::sockets::tcp_options::delegate_options!(@get keep_alive_enabled -> bool);
        $crate::sockets::tcp_options::delegate_options!(@get keep_alive_idle_time -> u64);
        $crate::sockets::tcp_options::delegate_options!(@get keep_alive_interval -> u64);
        $crate::sockets::tcp_options::delegate_options!(@get keep_alive_count -> u32);
        $crate::sockets::tcp_options::delegate_options!(@get hop_limit -> u8);
        $crate::sockets::tcp_options::delegate_options!(@get receive_buffer_size -> u64);
        $crate::sockets::tcp_options::delegate_options!(@get send_buffer_size -> u64);
        $crate::sockets::tcp_options::delegate_options!(@set set_keep_alive_enabled(bool) KeepAlive);
        $crate::sockets::tcp_options::delegate_options!(@set set_keep_alive_idle_time(u64) KeepIdle);
        $crate::sockets::tcp_options::delegate_options!(@set set_keep_alive_interval(u64) KeepInterval);
        $crate::sockets::tcp_options::delegate_options!(@set set_keep_alive_count(u32) KeepCount);
        $crate::sockets::tcp_options::delegate_options!(@set set_hop_limit(u8) HopLimit);
        $crate::sockets::tcp_options::delegate_options!(@set set_receive_buffer_size(u64) ReceiveBuffer);
        $crate::sockets::tcp_options::delegate_options!(@set set_send_buffer_size(u64) SendBuffer);
    };
    (@get $name:ident -> $ty:ty) => {
        fn $name(
            &mut self,
            this: wasmtime::component::Resource<wasmtime_wasi::p2::TcpSocket>,
        ) -> wasmtime_wasi::p2::SocketResult<$ty> {
            <$crate::sockets::tcp::Inner as HostTcpSocket>::$name(&mut self.inner, this)
        }
    };
    (@set $name:ident($ty:ty) $opt:ident) => {
        fn $name(
            &mut self,
            this: wasmtime::component::Resource<wasmtime_wasi::p2::TcpSocket>,
            value: $ty,
        ) -> wasmtime_wasi::p2::SocketResult<()> {
            <$crate::sockets::tcp::Inner as HostTcpSocket>::$name(
                &mut self.inner,
                $crate::sockets::addressing::same(&this),
                value,
            )?;
            let own = self.own_tcp(&this)?;
            skiff_sync::lock(&own).set_option($crate::sockets::tcp_options::TcpOpt::$opt(value));
            Ok(())
        }
    };
}
pub(super) use delegate_options;
