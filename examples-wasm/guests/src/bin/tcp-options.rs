//! wasi:sockets/tcp without std: holds $COUNT (default 0) TCP sockets it created and never
//! bound, prints the socket options of a fresh socket, sets them on an unbound one and reads
//! them back, binds and listens on 0.0.0.0:$PORT (default 7300) and reads them again, tries
//! 0 for every option that refuses it, accepts $ACCEPT (default 0) connections and keeps
//! them open, then idles until stopped. One line per step.
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{IpAddressFamily, IpSocketAddress, Ipv4SocketAddress};
use wasip2::sockets::tcp::{ErrorCode, TcpSocket};
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Every option, as `name=value` pairs (or the error).
fn options(s: &TcpSocket) -> String {
    let show = |r: Result<u64, ErrorCode>| match r {
        Ok(v) => v.to_string(),
        Err(e) => e.name().to_owned(),
    };
    format!(
        "keep_alive={} idle={} interval={} count={} hop={} receive={} send={}",
        show(s.keep_alive_enabled().map(u64::from)),
        show(s.keep_alive_idle_time()),
        show(s.keep_alive_interval()),
        show(s.keep_alive_count().map(u64::from)),
        show(s.hop_limit().map(u64::from)),
        show(s.receive_buffer_size()),
        show(s.send_buffer_size()),
    )
}

/// The settings the host test expects to read back.
fn set_options(s: &TcpSocket) -> Result<(), ErrorCode> {
    s.set_keep_alive_enabled(true)?;
    s.set_keep_alive_idle_time(30_000_000_000)?;
    // 1.5 s: whole seconds only, rounded up (as wasmtime-wasi and the kernel do).
    s.set_keep_alive_interval(1_500_000_000)?;
    s.set_keep_alive_count(5)?;
    s.set_hop_limit(42)?;
    s.set_receive_buffer_size(65_536)?;
    s.set_send_buffer_size(65_536)?;
    s.set_listen_backlog_size(16)
}

/// What each option answers to 0.
fn zeros(s: &TcpSocket) -> String {
    let results = [
        s.set_keep_alive_idle_time(0),
        s.set_keep_alive_interval(0),
        s.set_keep_alive_count(0),
        s.set_hop_limit(0),
        s.set_receive_buffer_size(0),
        s.set_send_buffer_size(0),
        s.set_listen_backlog_size(0),
    ];
    let shown: Vec<&str> = results
        .iter()
        .map(|r| r.as_ref().map_or_else(|e| e.name(), |()| "ok"))
        .collect();
    shown.join(" ")
}

fn listen(s: &TcpSocket, port: u16) -> Result<(), ErrorCode> {
    let network = instance_network();
    let address = IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port,
        address: (0, 0, 0, 0),
    });
    s.start_bind(&network, address)?;
    s.subscribe().block();
    s.finish_bind()?;
    s.start_listen()?;
    s.subscribe().block();
    s.finish_listen()
}

fn main() -> Result<(), ErrorCode> {
    let count = env_number("COUNT", 0);
    let port = u16::try_from(env_number("PORT", 7300)).unwrap_or(7300);
    let held: Vec<TcpSocket> = (0..count)
        .map(|_| create_tcp_socket(IpAddressFamily::Ipv4))
        .collect::<Result<_, _>>()?;
    println!("holding {} unbound sockets", held.len());

    let fresh = create_tcp_socket(IpAddressFamily::Ipv4)?;
    println!("defaults: {}", options(&fresh));
    set_options(&fresh)?;
    println!("unbound: {}", options(&fresh));
    listen(&fresh, port)?;
    println!("listening: {}", options(&fresh));
    fresh.set_hop_limit(7)?;
    println!("listening hop after set: {}", fresh.hop_limit()?);
    println!("zeros: {}", zeros(&fresh));
    println!("family: {:?}", fresh.address_family());
    let mut accepted = Vec::new();
    for _ in 0..env_number("ACCEPT", 0) {
        fresh.subscribe().block();
        accepted.push(fresh.accept()?);
    }
    println!("accepted {}", accepted.len());
    loop {
        wasip2::clocks::monotonic_clock::subscribe_duration(3_600_000_000_000).block();
    }
}
