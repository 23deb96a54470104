//! Socket options of a guest TCP socket, without an OS socket of their own. A setting is
//! validated and clamped as wasmtime-wasi 48 does (`sockets/tcp.rs`, `sockets/mod.rs`), kept
//! on skiff's [`super::tcp_socket::OwnTcp`], and applied to its real socket at once if there
//! is one, else when it is made. A getter reads the real socket when there is one, else the
//! kept setting, else the OS default ([`os_default`], read once per process).

use super::tcp_socket::{OwnTcp, TcpState};
use rustix::io::Errno;
use rustix::net::sockopt;
use std::os::fd::BorrowedFd;
use std::sync::Mutex;
use std::time::Duration;
use wasmtime_wasi::p2::bindings::sockets::network::ErrorCode;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// One TCP socket option, its value carried as `u64` (`keep-alive-enabled`: 0 or 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TcpOpt {
    KeepAlive,
    KeepIdle,
    KeepInterval,
    KeepCount,
    HopLimit,
    ReceiveBuffer,
    SendBuffer,
}

/// How many kinds of [`TcpOpt`] there are (the length of a settings table).
pub(super) const TCP_OPT_KINDS: usize = 7;

impl TcpOpt {
    const ALL: [TcpOpt; TCP_OPT_KINDS] = [
        TcpOpt::KeepAlive,
        TcpOpt::KeepIdle,
        TcpOpt::KeepInterval,
        TcpOpt::KeepCount,
        TcpOpt::HopLimit,
        TcpOpt::ReceiveBuffer,
        TcpOpt::SendBuffer,
    ];

    /// The option's slot in a settings table.
    pub(super) fn index(self) -> usize {
        self as usize
    }

    /// wasmtime-wasi's validation and clamping of a guest's setting: 0 is
    /// `invalid-argument` (except for keep-alive on/off), keep-alive times are whole seconds
    /// in 1..=32767 (rounded up, as the syscall does), the count 1..=127, buffer sizes
    /// 1..=i32::MAX.
    pub(super) fn normalize(self, value: u64) -> Result<u64, ErrorCode> {
        if value == 0 && self != TcpOpt::KeepAlive {
            return Err(ErrorCode::InvalidArgument);
        }
        Ok(match self {
            TcpOpt::KeepAlive => u64::from(value != 0),
            TcpOpt::KeepIdle | TcpOpt::KeepInterval => {
                let secs = value.div_ceil(NANOS_PER_SEC).clamp(1, i16::MAX as u64);
                secs * NANOS_PER_SEC
            }
            TcpOpt::KeepCount => value.clamp(1, i8::MAX as u64),
            TcpOpt::HopLimit => value.min(u64::from(u8::MAX)),
            TcpOpt::ReceiveBuffer | TcpOpt::SendBuffer => value.clamp(1, i32::MAX as u64),
        })
    }

    /// Sets the (normalized) `value` on the real socket `fd`.
    pub(super) fn apply(self, fd: BorrowedFd<'_>, ipv6: bool, value: u64) -> Result<(), ErrorCode> {
        let size = usize::try_from(value).unwrap_or(usize::MAX);
        let hops = u8::try_from(value).unwrap_or(u8::MAX);
        let applied = match self {
            TcpOpt::KeepAlive => sockopt::set_socket_keepalive(fd, value != 0),
            TcpOpt::KeepIdle => sockopt::set_tcp_keepidle(fd, Duration::from_nanos(value)),
            TcpOpt::KeepInterval => sockopt::set_tcp_keepintvl(fd, Duration::from_nanos(value)),
            TcpOpt::KeepCount => {
                sockopt::set_tcp_keepcnt(fd, u32::try_from(value).unwrap_or(u32::MAX))
            }
            TcpOpt::HopLimit if ipv6 => sockopt::set_ipv6_unicast_hops(fd, Some(hops)),
            TcpOpt::HopLimit => sockopt::set_ip_ttl(fd, u32::from(hops)),
            TcpOpt::ReceiveBuffer => sockopt::set_socket_recv_buffer_size(fd, size),
            TcpOpt::SendBuffer => sockopt::set_socket_send_buffer_size(fd, size),
        };
        match applied {
            // Buffer sizes are hints: wasmtime-wasi treats ENOBUFS as success.
            Ok(()) | Err(Errno::NOBUFS) => Ok(()),
            Err(e) => Err(ErrorCode::from(std::io::Error::from(e))),
        }
    }

    /// The option's value on the real socket `fd`, as wasmtime-wasi reports it (Linux's
    /// doubled buffer sizes halved).
    pub(super) fn read(self, fd: BorrowedFd<'_>, ipv6: bool) -> Result<u64, ErrorCode> {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let half = |n: usize| u64::try_from(n / 2).unwrap_or(u64::MAX);
        let read = match self {
            TcpOpt::KeepAlive => sockopt::socket_keepalive(fd).map(u64::from),
            TcpOpt::KeepIdle => sockopt::tcp_keepidle(fd).map(nanos),
            TcpOpt::KeepInterval => sockopt::tcp_keepintvl(fd).map(nanos),
            TcpOpt::KeepCount => sockopt::tcp_keepcnt(fd).map(u64::from),
            TcpOpt::HopLimit if ipv6 => sockopt::ipv6_unicast_hops(fd).map(u64::from),
            TcpOpt::HopLimit => sockopt::ip_ttl(fd).map(u64::from),
            TcpOpt::ReceiveBuffer => sockopt::socket_recv_buffer_size(fd).map(half),
            TcpOpt::SendBuffer => sockopt::socket_send_buffer_size(fd).map(half),
        };
        read.map_err(|e| ErrorCode::from(std::io::Error::from(e)))
    }
}

/// What a new socket of the family answers for every option, read from one probe socket
/// per family and process (closed right after), so idle guest sockets need no OS socket.
pub(super) fn os_default(opt: TcpOpt, ipv6: bool) -> Result<u64, ErrorCode> {
    static DEFAULTS: Mutex<[Option<[u64; TCP_OPT_KINDS]>; 2]> = Mutex::new([None, None]);
    let mut defaults = skiff_sync::lock(&DEFAULTS);
    let slot = &mut defaults[usize::from(ipv6)];
    if slot.is_none() {
        // Not cached on failure (e.g. out of file descriptors): the next call tries again.
        *slot = Some(probe_defaults(ipv6)?);
    }
    Ok(slot.map_or(0, |values| values[opt.index()]))
}

fn probe_defaults(ipv6: bool) -> Result<[u64; TCP_OPT_KINDS], ErrorCode> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType, socket_with};
    let family = if ipv6 {
        AddressFamily::INET6
    } else {
        AddressFamily::INET
    };
    let probe = socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)
        .map_err(|e| ErrorCode::from(std::io::Error::from(e)))?;
    let mut values = [0; TCP_OPT_KINDS];
    for opt in TcpOpt::ALL {
        values[opt.index()] = opt.read(std::os::fd::AsFd::as_fd(&probe), ipv6)?;
    }
    Ok(values)
}

impl OwnTcp {
    /// A guest's setting: validated, kept, and set on the real socket if there is one.
    pub(super) fn set_option(&mut self, opt: TcpOpt, value: u64) -> Result<(), ErrorCode> {
        let value = opt.normalize(value)?;
        if let TcpState::Closed(e) = self.state {
            return Err(e);
        }
        if let Some(fd) = self.fd() {
            opt.apply(fd, self.ipv6, value)?;
        }
        self.settings[opt.index()] = Some(value);
        Ok(())
    }

    /// An option's value: from the real socket, else the guest's setting, else the default.
    pub(super) fn get_option(&self, opt: TcpOpt) -> Result<u64, ErrorCode> {
        if let TcpState::Closed(e) = self.state {
            return Err(e);
        }
        match (self.fd(), self.settings[opt.index()]) {
            (Some(fd), _) => opt.read(fd, self.ipv6),
            (None, Some(value)) => Ok(value),
            (None, None) => os_default(opt, self.ipv6),
        }
    }

    /// Sets every kept setting on a new real socket (best effort: each was validated, and
    /// set on a real socket of the same kind before if there was one).
    pub(super) fn apply_settings(&self, fd: BorrowedFd<'_>) {
        for opt in TcpOpt::ALL {
            if let Some(value) = self.settings[opt.index()]
                && let Err(error) = opt.apply(fd, self.ipv6, value)
            {
                tracing::debug!(?opt, %error, "socket option not applied to the real socket");
            }
        }
    }

    /// `set-listen-backlog-size`: kept until `listen`, or applied by listening again.
    pub(super) fn set_backlog(&mut self, value: u64) -> Result<(), ErrorCode> {
        if value == 0 {
            return Err(ErrorCode::InvalidArgument);
        }
        let value = u32::try_from(value.min(i32::MAX as u64)).unwrap_or(i32::MAX as u32);
        match &self.state {
            TcpState::Fresh | TcpState::Bound(_) => {}
            TcpState::Listening { listener, .. } => {
                let backlog = i32::try_from(value).unwrap_or(i32::MAX);
                rustix::net::listen(listener, backlog).map_err(|_| ErrorCode::NotSupported)?;
            }
            TcpState::Closed(e) => return Err(*e),
            _ => return Err(ErrorCode::InvalidState),
        }
        self.backlog = value;
        Ok(())
    }
}

/// The option getters and setters of `HostTcpSocket`, all answered by skiff's
/// [`super::tcp_socket::OwnTcp`] (`get_option`, `set_option`).
macro_rules! tcp_options {
    () => {
        $crate::sockets::tcp_options::tcp_options!(@get keep_alive_enabled KeepAlive -> bool);
        $crate::sockets::tcp_options::tcp_options!(@get keep_alive_idle_time KeepIdle -> u64);
        $crate::sockets::tcp_options::tcp_options!(@get keep_alive_interval KeepInterval -> u64);
        $crate::sockets::tcp_options::tcp_options!(@get keep_alive_count KeepCount -> u32);
        $crate::sockets::tcp_options::tcp_options!(@get hop_limit HopLimit -> u8);
        $crate::sockets::tcp_options::tcp_options!(@get receive_buffer_size ReceiveBuffer -> u64);
        $crate::sockets::tcp_options::tcp_options!(@get send_buffer_size SendBuffer -> u64);
        $crate::sockets::tcp_options::tcp_options!(@set set_keep_alive_enabled(bool) KeepAlive);
        $crate::sockets::tcp_options::tcp_options!(@set set_keep_alive_idle_time(u64) KeepIdle);
        $crate::sockets::tcp_options::tcp_options!(@set set_keep_alive_interval(u64) KeepInterval);
        $crate::sockets::tcp_options::tcp_options!(@set set_keep_alive_count(u32) KeepCount);
        $crate::sockets::tcp_options::tcp_options!(@set set_hop_limit(u8) HopLimit);
        $crate::sockets::tcp_options::tcp_options!(@set set_receive_buffer_size(u64) ReceiveBuffer);
        $crate::sockets::tcp_options::tcp_options!(@set set_send_buffer_size(u64) SendBuffer);
    };
    (@get $name:ident $opt:ident -> bool) => {
        fn $name(
            &mut self,
            this: wasmtime::component::Resource<wasmtime_wasi::p2::TcpSocket>,
        ) -> wasmtime_wasi::p2::SocketResult<bool> {
            let own = self.own_tcp(&this)?;
            let value = skiff_sync::lock(&own)
                .get_option($crate::sockets::tcp_options::TcpOpt::$opt)?;
            Ok(value != 0)
        }
    };
    (@get $name:ident $opt:ident -> $ty:ty) => {
        fn $name(
            &mut self,
            this: wasmtime::component::Resource<wasmtime_wasi::p2::TcpSocket>,
        ) -> wasmtime_wasi::p2::SocketResult<$ty> {
            let own = self.own_tcp(&this)?;
            let value = skiff_sync::lock(&own)
                .get_option($crate::sockets::tcp_options::TcpOpt::$opt)?;
            Ok(<$ty>::try_from(value).unwrap_or(<$ty>::MAX))
        }
    };
    (@set $name:ident($ty:ty) $opt:ident) => {
        fn $name(
            &mut self,
            this: wasmtime::component::Resource<wasmtime_wasi::p2::TcpSocket>,
            value: $ty,
        ) -> wasmtime_wasi::p2::SocketResult<()> {
            let own = self.own_tcp(&this)?;
            let opt = $crate::sockets::tcp_options::TcpOpt::$opt;
            skiff_sync::lock(&own).set_option(opt, u64::from(value))?;
            Ok(())
        }
    };
}
pub(super) use tcp_options;
