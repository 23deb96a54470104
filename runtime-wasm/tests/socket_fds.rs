//! A guest TCP socket holds a file descriptor only once skiff made its real socket: created
//! and never bound, none; a listener with N accepted connections, N+1. Socket options
//! round-trip with and without a real socket. The descriptors are this test process's own,
//! read from /proc (other tests run beside these, so "unlisted" sockets are sampled).

use crate::support::{Harness, bounded, guest};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

/// Socket inodes in /proc/self/net tables: local port for TCP, `None` for the rest.
fn listed_sockets() -> Result<HashMap<u64, Option<u16>>> {
    let tables = [
        ("tcp", 9, true),
        ("tcp6", 9, true),
        ("udp", 9, false),
        ("udp6", 9, false),
        ("raw", 9, false),
        ("raw6", 9, false),
        ("unix", 6, false),
        ("netlink", 9, false),
        ("packet", 8, false),
    ];
    let mut listed = HashMap::new();
    for (table, inode_column, tcp) in tables {
        let Ok(text) = std::fs::read_to_string(format!("/proc/self/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let Some(inode) = fields.get(inode_column).and_then(|f| f.parse().ok()) else {
                continue;
            };
            let port = fields
                .get(1)
                .and_then(|local| local.rsplit_once(':'))
                .and_then(|(_, port)| u16::from_str_radix(port, 16).ok());
            listed.insert(inode, if tcp { port } else { None });
        }
    }
    Ok(listed)
}

/// The inodes of this process's socket descriptors.
fn socket_fds() -> Result<Vec<u64>> {
    let mut inodes = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let Ok(target) = std::fs::read_link(entry?.path()) else {
            continue; // closed meanwhile
        };
        let target = target.to_string_lossy().into_owned();
        if let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|t| t.strip_suffix(']'))
        {
            inodes.push(inode.parse().context("socket inode")?);
        }
    }
    Ok(inodes)
}

/// (descriptors of sockets in no /proc/net table (unbound), descriptors of TCP sockets whose
/// local port is `port`), the fewest unbound over several samples: other tests' sockets are
/// unbound only for an instant between socket() and bind()/connect().
async fn count_fds(port: u16) -> Result<(usize, usize)> {
    let mut fewest_unlisted = usize::MAX;
    let mut on_port = 0;
    for _ in 0..10 {
        let fds = socket_fds()?;
        let listed = listed_sockets()?;
        let unlisted = fds.iter().filter(|i| !listed.contains_key(i)).count();
        fewest_unlisted = fewest_unlisted.min(unlisted);
        on_port = fds
            .iter()
            .filter(|i| listed.get(i) == Some(&Some(port)))
            .count();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok((fewest_unlisted, on_port))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_sockets_hold_no_descriptor_and_options_round_trip() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        let ip = h.pod("holder", "10.244.20.2")?;
        let (unlisted_before, _) = count_fds(0).await?;
        let env = [("COUNT", "64"), ("PORT", "7300")];
        h.run("holder", guest("opts", "tcp-options", &env)).await?;
        let log = h.wait_log("holder", "opts", "family:", T).await?;
        assert!(log.contains("holding 64 unbound sockets"), "{log}");
        let real = h.wait_listening(SocketAddr::new(ip, 7300), T).await?;
        let (unlisted, on_port) = count_fds(real.port()).await?;
        assert!(
            unlisted <= unlisted_before,
            "64 created sockets hold descriptors: {unlisted_before} unbound before, {unlisted} after"
        );
        assert_eq!(on_port, 1, "the listener is the pod's only socket");
        check_options(&log)?;
        h.shutdown().await;
        Ok(())
    })
    .await
}

/// The guest's option lines: a fresh socket answers the OS defaults, settings read back
/// the same before and after the real socket exists, 0 is refused.
fn check_options(log: &str) -> Result<()> {
    let line = |prefix: &str| -> Result<String> {
        log.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::to_owned)
            .with_context(|| format!("no {prefix:?} line in {log}"))
    };
    let probe = tokio::net::TcpSocket::new_v4()?;
    let defaults = format!(
        "keep_alive=0 idle={} interval={} count={} hop={} receive={} send={}",
        rustix::net::sockopt::tcp_keepidle(&probe)?.as_nanos(),
        rustix::net::sockopt::tcp_keepintvl(&probe)?.as_nanos(),
        rustix::net::sockopt::tcp_keepcnt(&probe)?,
        rustix::net::sockopt::ip_ttl(&probe)?,
        probe.recv_buffer_size()? / 2,
        probe.send_buffer_size()? / 2,
    );
    assert_eq!(line("defaults: ")?, defaults);
    let set = "keep_alive=1 idle=30000000000 interval=2000000000 count=5 hop=42 \
               receive=65536 send=65536";
    assert_eq!(line("unbound: ")?, set);
    assert_eq!(line("listening: ")?, set);
    assert_eq!(line("listening hop after set: ")?, "7");
    let refused = ["invalid-argument"; 7].join(" ");
    assert_eq!(line("zeros: ")?, refused);
    assert_eq!(line("family: ")?, "IpAddressFamily::Ipv4");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_with_n_connections_holds_n_plus_one_descriptors() -> Result<()> {
    bounded(async {
        const N: usize = 8;
        let h = Harness::new()?;
        let ip = h.pod("acceptor", "10.244.21.2")?;
        let env = [("ACCEPT", "8"), ("PORT", "7301")];
        h.run("acceptor", guest("opts", "tcp-options", &env))
            .await?;
        let real = h.wait_listening(SocketAddr::new(ip, 7301), T).await?;
        h.wait_log("acceptor", "opts", "family:", T).await?;
        let (unlisted_before, listening) = count_fds(real.port()).await?;
        assert_eq!(listening, 1, "the listener alone");
        let mut clients = Vec::new();
        for _ in 0..N {
            clients.push(tokio::net::TcpStream::connect(real).await?);
        }
        h.wait_log("acceptor", "opts", &format!("accepted {N}"), T)
            .await?;
        let (unlisted, on_port) = count_fds(real.port()).await?;
        assert_eq!(on_port, N + 1, "listener + one per accepted connection");
        assert!(
            unlisted <= unlisted_before,
            "accepting made sockets beside the connections: {unlisted_before} -> {unlisted}"
        );
        drop(clients);
        h.shutdown().await;
        Ok(())
    })
    .await
}
