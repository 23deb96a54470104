//! A guest `tcp-socket` as skiff keeps it: the resource-table entry behind the guest's
//! handle (wasmtime-wasi's `TcpSocket` is never made) and the real socket, owned by skiff so
//! that its connection can be read and written by skiff's own streams
//! ([`super::tcp_stream`]). The OS socket exists only from bind (or connect) on; a socket
//! the guest merely created holds no file descriptor. This is the state machine of WASI
//! 0.2's `tcp-socket`: bind, then connect or listen, with each start/finish pair and
//! wasmtime-wasi's validation.

use super::tcp_options::TCP_OPT_KINDS;
use super::tcp_stream::Conn;
use crate::usage::UsageCounters;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use wasmtime_wasi::p2::bindings::sockets::network::ErrorCode;

type Connecting = Pin<Box<dyn Future<Output = io::Result<TcpStream>> + Send>>;

/// Where a socket is in its life.
pub(super) enum TcpState {
    /// No real socket yet (the guest neither bound nor connected).
    Fresh,
    Bound(TcpSocket),
    Connecting(Connecting),
    /// `finish-connect` may hand out the streams.
    ConnectReady(Arc<Conn>),
    Connected(Arc<Conn>),
    Listening {
        listener: TcpListener,
        /// A connection the pollable saw arrive, for the next `accept`.
        arrived: Option<io::Result<TcpStream>>,
    },
    Closed(ErrorCode),
}

/// Which start/finish pair is between its halves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pending {
    Bind,
    Connect,
    Listen,
}

/// skiff's side of one guest TCP socket.
pub(super) struct OwnTcp {
    pub(super) ipv6: bool,
    pub(super) state: TcpState,
    pub(super) pending: Option<Pending>,
    pub(super) backlog: u32,
    /// Options the guest set (normalized, by [`super::tcp_options::TcpOpt::index`]),
    /// applied to each real socket as it is made.
    pub(super) settings: [Option<u64>; TCP_OPT_KINDS],
    usage: Arc<UsageCounters>,
}

/// wasmtime-wasi's default listen backlog.
const DEFAULT_BACKLOG: u32 = 128;

impl OwnTcp {
    pub(super) fn new(ipv6: bool, usage: Arc<UsageCounters>) -> Self {
        OwnTcp {
            ipv6,
            state: TcpState::Fresh,
            pending: None,
            backlog: DEFAULT_BACKLOG,
            settings: [None; TCP_OPT_KINDS],
            usage,
        }
    }

    /// An accepted connection.
    pub(super) fn accepted(ipv6: bool, conn: Arc<Conn>, usage: Arc<UsageCounters>) -> Self {
        OwnTcp {
            state: TcpState::Connected(conn),
            ..OwnTcp::new(ipv6, usage)
        }
    }

    fn real_socket(&self) -> io::Result<TcpSocket> {
        let socket = if self.ipv6 {
            let socket = TcpSocket::new_v6()?;
            // WASI: IPV6_V6ONLY is on for IPv6 sockets and cannot be changed.
            rustix::net::sockopt::set_ipv6_v6only(&socket, true).map_err(io::Error::from)?;
            socket
        } else {
            TcpSocket::new_v4()?
        };
        self.apply_settings(std::os::fd::AsFd::as_fd(&socket));
        Ok(socket)
    }

    /// The family and unicast checks wasmtime-wasi makes before a bind or connect.
    pub(super) fn check_address(&self, addr: SocketAddr, remote: bool) -> Result<(), ErrorCode> {
        let unicast = match addr.ip().to_canonical() {
            IpAddr::V4(v4) => !v4.is_multicast() && !v4.is_broadcast(),
            IpAddr::V6(v6) => !v6.is_multicast(),
        };
        let family = match addr.ip() {
            IpAddr::V4(_) => !self.ipv6,
            IpAddr::V6(v6) => self.ipv6 && v6.to_ipv4_mapped().is_none(),
        };
        let usable = !remote || (!addr.ip().to_canonical().is_unspecified() && addr.port() != 0);
        if unicast && family && usable {
            Ok(())
        } else {
            Err(ErrorCode::InvalidArgument)
        }
    }

    /// Binds a real socket to `real` (`start-bind`).
    pub(super) fn bind(&mut self, real: SocketAddr) -> Result<SocketAddr, ErrorCode> {
        if !matches!(self.state, TcpState::Fresh) {
            return Err(ErrorCode::InvalidState);
        }
        let socket = self.real_socket()?;
        // WASI: a bind is not affected by TIME_WAIT of an earlier socket.
        let _ = socket.set_reuseaddr(true);
        socket.bind(real).map_err(bind_error)?;
        let local = socket.local_addr()?;
        self.state = TcpState::Bound(socket);
        Ok(local)
    }

    /// Starts connecting to the real `target` (`start-connect`), binding first if needed.
    pub(super) fn start_connect(&mut self, target: SocketAddr) -> Result<(), ErrorCode> {
        let socket = match std::mem::replace(&mut self.state, TcpState::Fresh) {
            TcpState::Bound(socket) => socket,
            other => {
                self.state = other;
                return Err(ErrorCode::InvalidState);
            }
        };
        self.state = TcpState::Connecting(Box::pin(socket.connect(target)));
        Ok(())
    }

    /// Drives the connect; `Ready` once it succeeded or failed.
    pub(super) fn poll_connect(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ErrorCode>> {
        let TcpState::Connecting(connecting) = &mut self.state else {
            return Poll::Ready(match &self.state {
                TcpState::ConnectReady(_) => Ok(()),
                TcpState::Closed(e) => Err(*e),
                _ => Err(ErrorCode::InvalidState),
            });
        };
        let connected = match connecting.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(connected) => connected,
        };
        match connected {
            Ok(stream) => {
                // Settings made while connecting (no fd to set them on then).
                self.apply_settings(std::os::fd::AsFd::as_fd(&stream));
                self.state = TcpState::ConnectReady(Conn::new(stream, self.usage.clone()));
                Poll::Ready(Ok(()))
            }
            Err(e) => {
                let code = ErrorCode::from(e);
                self.state = TcpState::Closed(code);
                Poll::Ready(Err(code))
            }
        }
    }

    /// The connection once connected (`finish-connect`), for its streams.
    pub(super) fn take_connected(&mut self) -> Result<Arc<Conn>, ErrorCode> {
        match std::mem::replace(&mut self.state, TcpState::Fresh) {
            TcpState::ConnectReady(conn) => {
                self.state = TcpState::Connected(conn.clone());
                Ok(conn)
            }
            other => {
                self.state = other;
                Err(ErrorCode::InvalidState)
            }
        }
    }

    /// Listens on the bound socket (`start-listen`).
    pub(super) fn listen(&mut self) -> Result<(), ErrorCode> {
        let socket = match std::mem::replace(&mut self.state, TcpState::Fresh) {
            TcpState::Bound(socket) => socket,
            other => {
                self.state = other;
                return Err(ErrorCode::InvalidState);
            }
        };
        let listener = socket.listen(self.backlog)?;
        self.state = TcpState::Listening {
            listener,
            arrived: None,
        };
        Ok(())
    }

    /// Waits until a connection can be accepted (the listener's pollable).
    pub(super) fn poll_arrival(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let TcpState::Listening { listener, arrived } = &mut self.state else {
            return Poll::Ready(());
        };
        if arrived.is_none() {
            match listener.poll_accept(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(got) => *arrived = Some(got.map(|(stream, _)| stream)),
            }
        }
        Poll::Ready(())
    }

    /// A connection that arrived, without waiting (`accept`).
    pub(super) fn accept(&mut self) -> Result<Arc<Conn>, ErrorCode> {
        if !matches!(self.state, TcpState::Listening { .. }) {
            return Err(ErrorCode::InvalidState);
        }
        if self
            .poll_arrival(&mut Context::from_waker(std::task::Waker::noop()))
            .is_pending()
        {
            return Err(ErrorCode::WouldBlock);
        }
        let TcpState::Listening { arrived, .. } = &mut self.state else {
            return Err(ErrorCode::InvalidState);
        };
        let stream = arrived.take().ok_or(ErrorCode::WouldBlock)??;
        Ok(Conn::new(stream, self.usage.clone()))
    }

    /// The connection's streams' shared state, once connected.
    pub(super) fn conn(&self) -> Option<&Arc<Conn>> {
        match &self.state {
            TcpState::Connected(conn) | TcpState::ConnectReady(conn) => Some(conn),
            _ => None,
        }
    }

    /// The real socket's file descriptor, for socket options.
    pub(super) fn fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        match &self.state {
            TcpState::Bound(socket) => Some(socket.as_fd()),
            TcpState::Listening { listener, .. } => Some(listener.as_fd()),
            TcpState::Connected(conn) | TcpState::ConnectReady(conn) => Some(conn.stream.as_fd()),
            _ => None,
        }
    }

    /// The real peer of a connected socket.
    pub(super) fn real_peer(&self) -> Result<SocketAddr, ErrorCode> {
        let conn = self.conn().ok_or(ErrorCode::InvalidState)?;
        Ok(conn.stream.peer_addr()?)
    }
}

/// bind(2)'s errors as WASI names them.
fn bind_error(e: io::Error) -> ErrorCode {
    match e.raw_os_error() {
        Some(libc_addrinuse) if libc_addrinuse == rustix::io::Errno::ADDRINUSE.raw_os_error() => {
            ErrorCode::AddressInUse
        }
        Some(code) if code == rustix::io::Errno::ADDRNOTAVAIL.raw_os_error() => {
            ErrorCode::AddressNotBindable
        }
        _ => ErrorCode::from(e),
    }
}
