//! Pod IPs from the node's pod CIDR: one address per pod (by UID), never one still held by
//! another pod, handed out round-robin so a released address is reused as late as possible
//! (as the host-local IPAM plugin does). Addresses a pod already had (its `status.podIP`,
//! read back after an agent restart) are reserved before new ones are handed out.
//!
//! Pure: no I/O, IPv4 only (the cluster CIDR is 10.244.0.0/16, one /24 per node).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// The default `spec.podCIDR` when the Node has none.
pub const DEFAULT_POD_CIDR: &str = "10.244.0.0/24";

/// What is wrong with a CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("pod CIDR {0:?} is not an IPv4 CIDR like 10.244.0.0/24")]
    Malformed(String),
    #[error("pod CIDR {0:?} is too small: it needs room for at least one pod (/30 or wider)")]
    TooSmall(String),
}

/// An IPv4 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    base: u32,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Cidr, CidrError> {
        let bad = || CidrError::Malformed(text.to_owned());
        let (addr, prefix) = text.trim().split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if prefix > 32 {
            return Err(bad());
        }
        if prefix > 30 {
            return Err(CidrError::TooSmall(text.to_owned()));
        }
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        Ok(Cidr {
            base: u32::from(addr) & mask,
            prefix,
        })
    }

    fn size(&self) -> u32 {
        1u32.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0)
    }

    /// Whether `ip` is a pod address of this network: not the network address, not the
    /// gateway (`.1`), not the broadcast address.
    pub fn is_pod_address(&self, ip: Ipv4Addr) -> bool {
        let offset = u32::from(ip).wrapping_sub(self.base);
        u32::from(ip) >= self.base && offset >= 2 && offset < self.size() - 1
    }
}

/// The addresses handed out to pods.
#[derive(Debug, Clone)]
pub struct IpPool {
    cidr: Cidr,
    by_pod: BTreeMap<String, Ipv4Addr>,
    held: BTreeSet<Ipv4Addr>,
    /// Offset of the address handed out last; the next search starts after it.
    last: u32,
}

impl IpPool {
    pub fn new(cidr: Cidr) -> IpPool {
        IpPool {
            cidr,
            by_pod: BTreeMap::new(),
            held: BTreeSet::new(),
            last: 1,
        }
    }

    /// Moves to another CIDR; addresses already held stay held.
    pub fn set_cidr(&mut self, cidr: Cidr) {
        if cidr != self.cidr {
            self.cidr = cidr;
            self.last = 1;
        }
    }

    /// The address of pod `uid`, if it has one.
    pub fn get(&self, uid: &str) -> Option<Ipv4Addr> {
        self.by_pod.get(uid).copied()
    }

    /// Gives `uid` the address it had before, if that address is a pod address of this
    /// network and no other pod holds it. Returns whether it now holds it.
    pub fn reserve(&mut self, uid: &str, ip: Ipv4Addr) -> bool {
        if self.get(uid) == Some(ip) {
            return true;
        }
        if self.get(uid).is_some() || self.held.contains(&ip) || !self.cidr.is_pod_address(ip) {
            return false;
        }
        self.held.insert(ip);
        self.by_pod.insert(uid.to_owned(), ip);
        true
    }

    /// The address of `uid`: the one it holds, else the next free one; `None` when full.
    pub fn allocate(&mut self, uid: &str) -> Option<Ipv4Addr> {
        if let Some(ip) = self.get(uid) {
            return Some(ip);
        }
        let size = self.cidr.size();
        for step in 1..=size {
            let offset = (self.last + step) % size;
            let ip = Ipv4Addr::from(self.cidr.base + offset);
            if self.cidr.is_pod_address(ip) && !self.held.contains(&ip) {
                self.last = offset;
                self.held.insert(ip);
                self.by_pod.insert(uid.to_owned(), ip);
                return Some(ip);
            }
        }
        None
    }

    /// Pod `uid` is gone: its address is free again.
    pub fn release(&mut self, uid: &str) {
        if let Some(ip) = self.by_pod.remove(uid) {
            self.held.remove(&ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_or_say_what_is_wrong() {
        let table = [
            ("10.244.0.0/24", Ok((ip("10.244.0.0"), 24))),
            ("10.244.1.7/24", Ok((ip("10.244.1.0"), 24))),
            ("10.244.0.0/30", Ok((ip("10.244.0.0"), 30))),
            (
                "10.244.0.0/31",
                Err(CidrError::TooSmall("10.244.0.0/31".into())),
            ),
            ("10.244.0.0", Err(CidrError::Malformed("10.244.0.0".into()))),
            ("fd00::/64", Err(CidrError::Malformed("fd00::/64".into()))),
            (
                "10.0.0.0/33",
                Err(CidrError::Malformed("10.0.0.0/33".into())),
            ),
        ];
        for (text, want) in table {
            let got = Cidr::parse(text).map(|c| (Ipv4Addr::from(c.base), c.prefix));
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn addresses_skip_network_gateway_and_broadcast_and_are_not_reused_while_held() {
        let mut pool = IpPool::new(Cidr::parse("10.244.0.0/30").unwrap());
        assert_eq!(pool.allocate("a"), Some(ip("10.244.0.2")));
        assert_eq!(
            pool.allocate("a"),
            Some(ip("10.244.0.2")),
            "same pod, same address"
        );
        assert_eq!(pool.allocate("b"), None, "a /30 has one pod address");
        pool.release("a");
        assert_eq!(pool.allocate("b"), Some(ip("10.244.0.2")));
    }

    #[test]
    fn released_addresses_come_back_last() {
        let mut pool = IpPool::new(Cidr::parse("10.244.0.0/24").unwrap());
        let a = pool.allocate("a").unwrap();
        pool.release("a");
        let b = pool.allocate("b").unwrap();
        assert_ne!(a, b);
        assert_eq!(b, ip("10.244.0.3"));
    }

    #[test]
    fn reserved_addresses_are_kept_and_never_given_to_another_pod() {
        let mut pool = IpPool::new(Cidr::parse("10.244.0.0/24").unwrap());
        assert!(pool.reserve("old", ip("10.244.0.2")));
        assert!(pool.reserve("old", ip("10.244.0.2")), "idempotent");
        assert!(!pool.reserve("other", ip("10.244.0.2")), "held by old");
        assert!(!pool.reserve("x", ip("10.244.1.5")), "outside the CIDR");
        assert!(!pool.reserve("x", ip("10.244.0.1")), "the gateway");
        assert!(!pool.reserve("x", ip("10.244.0.255")), "broadcast");
        assert_eq!(pool.allocate("new"), Some(ip("10.244.0.3")));
        assert_eq!(pool.get("old"), Some(ip("10.244.0.2")));
    }
}
