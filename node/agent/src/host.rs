//! The host facts the Node reports, read from the machine: host name, CPUs, memory, kernel,
//! OS image, and the address the node is reached at.

use crate::node_object::{DEFAULT_MAX_PODS, NodeFacts, go_arch, parse_meminfo};
use std::net::{IpAddr, Ipv4Addr, UdpSocket};

/// The wasmtime the runtime links (checked against Cargo.lock by a test).
pub const WASMTIME_VERSION: &str = "48.0.8";

/// This machine's host name, lowercased (a Node name must be a DNS-1123 subdomain).
pub fn hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    name.trim().to_ascii_lowercase()
}

/// The local address used to reach `server_host`: loopback for a loopback server, else
/// the source address the kernel picks for it (a UDP `connect` sends no packet).
pub fn address_towards(server_host: &str) -> IpAddr {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let Ok(target) = server_host.trim_matches(['[', ']']).parse::<IpAddr>() else {
        return loopback;
    };
    if target.is_loopback() {
        return target;
    }
    let picked = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.connect((target, 6443)).and_then(|()| s.local_addr()));
    picked.map_or(loopback, |a| a.ip())
}

/// Everything the Node says about this host and this agent.
pub fn facts(name: &str, internal_ip: IpAddr) -> NodeFacts {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let os_image = read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_else(|| "unknown".into());
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    NodeFacts {
        name: name.to_owned(),
        hostname: hostname(),
        internal_ip,
        os: std::env::consts::OS.to_owned(),
        arch: go_arch(std::env::consts::ARCH).to_owned(),
        kernel_version: read("/proc/sys/kernel/osrelease").trim().to_owned(),
        os_image,
        cpus: u32::try_from(cpus).unwrap_or(u32::MAX),
        memory_bytes: parse_meminfo(&read("/proc/meminfo")).unwrap_or(1 << 30),
        max_pods: DEFAULT_MAX_PODS,
        skiff_version: env!("CARGO_PKG_VERSION").to_owned(),
        wasmtime_version: WASMTIME_VERSION.to_owned(),
        pod_cidr: None,
        overlay_port: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wasmtime_version_is_the_one_in_cargo_lock() {
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock"))
                .unwrap();
        let mut lines = lock.lines();
        let found = loop {
            match lines.next() {
                Some("name = \"wasmtime\"") => break lines.next(),
                Some(_) => continue,
                None => break None,
            }
        };
        assert_eq!(
            found,
            Some(format!("version = \"{WASMTIME_VERSION}\"").as_str())
        );
    }

    #[test]
    fn loopback_servers_are_reached_from_loopback() {
        assert_eq!(
            address_towards("127.0.0.1"),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            address_towards("localhost"),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(address_towards("[::1]"), "::1".parse::<IpAddr>().unwrap());
        let f = facts("n1", IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(f.cpus >= 1 && f.memory_bytes > 0);
        assert_eq!(f.wasmtime_version, WASMTIME_VERSION);
    }
}
