//! IPv4 networks (`10.244.1.0/24`): which node's pod range an address falls in, and the
//! cluster and Service ranges the overlay owns. Pure.

use std::net::{IpAddr, Ipv4Addr};

/// The cluster's pod range (DESIGN.md section 8): one /24 of it per node.
pub const CLUSTER_CIDR: Cidr = Cidr::new(Ipv4Addr::new(10, 244, 0, 0), 16);
/// The Service range: ClusterIPs, which only the node proxy maps.
pub const SERVICE_CIDR: Cidr = Cidr::new(Ipv4Addr::new(10, 96, 0, 0), 12);

/// An IPv4 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    base: u32,
    prefix: u8,
}

impl Cidr {
    /// The network of `addr` with `prefix` bits (bits past the prefix are cleared).
    pub const fn new(addr: Ipv4Addr, prefix: u8) -> Cidr {
        let prefix = if prefix > 32 { 32 } else { prefix };
        Cidr {
            base: addr.to_bits() & mask(prefix),
            prefix,
        }
    }

    /// `10.244.1.0/24`; `None` for anything else (IPv6 included: the overlay is IPv4).
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = text.trim().split_once('/')?;
        let addr: Ipv4Addr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        (prefix <= 32).then(|| Cidr::new(addr, prefix))
    }

    /// The network's first address as bits (`10.244.1.0` for `10.244.1.0/24`).
    pub const fn base_bits(&self) -> u32 {
        self.base
    }

    /// Whether `ip` lies in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => v4.to_bits() & mask(self.prefix) == self.base,
            IpAddr::V6(_) => false,
        }
    }
}

const fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_and_contain_their_addresses_only() {
        let table = [
            ("10.244.1.0/24", "10.244.1.7", true),
            ("10.244.1.9/24", "10.244.1.255", true),
            ("10.244.1.0/24", "10.244.2.1", false),
            ("10.96.0.0/12", "10.111.255.1", true),
            ("10.96.0.0/12", "10.112.0.1", false),
            ("0.0.0.0/0", "192.0.2.1", true),
            ("10.244.1.0/24", "::1", false),
        ];
        for (cidr, ip, want) in table {
            let cidr = Cidr::parse(cidr).unwrap();
            assert_eq!(cidr.contains(ip.parse().unwrap()), want, "{cidr:?} {ip}");
        }
        for bad in ["10.244.1.0", "10.244.1.0/33", "fd00::/64", "x/8", ""] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
        assert!(CLUSTER_CIDR.contains("10.244.200.3".parse().unwrap()));
        assert!(SERVICE_CIDR.contains("10.96.0.10".parse().unwrap()));
    }
}
