//! [`NetLab`]: one network namespace per replica, joined by veth pairs to a bridge in the root
//! namespace (where the test process reaches every replica), and a per-replica cut and heal.
//!
//! Addresses come from a TEST-NET range (RFC 5737) that the host does not route already; the
//! bridge takes `.254`, replica `i` takes `.(i+1)`. A cut adds `unreachable` routes between the
//! cut replica and every other replica, in both namespaces: neither side can send to the other
//! (new connections fail, established ones stall), while the test process (`.254`) still
//! reaches all of them. Everything is deleted on drop, whatever the test's outcome.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, bail};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// TEST-NET-1, -2 and -3; the first one the host does not use is taken.
const SUBNETS: [[u8; 3]; 3] = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];

pub struct NetLab {
    bridge: String,
    namespaces: Vec<String>,
    subnet: [u8; 3],
}

impl NetLab {
    /// Builds the lab for `n` replicas, or `Ok(None)` when this machine cannot create network
    /// namespaces (not root, or no `ip`) or `SKIFF_TEST_NO_NETNS` is set (to exercise the
    /// fallback where namespaces work).
    pub fn create(n: usize) -> anyhow::Result<Option<NetLab>> {
        if std::env::var_os("SKIFF_TEST_NO_NETNS").is_some() {
            return Ok(None);
        }
        let tag = format!(
            "{}{}",
            std::process::id() % 100_000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let probe = format!("sk{tag}p");
        match Command::new("ip").args(["netns", "add", &probe]).output() {
            Ok(out) if out.status.success() => {
                let _ = Command::new("ip").args(["netns", "del", &probe]).output();
            }
            _ => return Ok(None),
        }
        let routes = Command::new("ip")
            .args(["-4", "route", "show", "table", "all"])
            .output()?;
        let routes = String::from_utf8_lossy(&routes.stdout).into_owned();
        let subnet = SUBNETS
            .into_iter()
            .find(|s| !routes.contains(&format!("{}.{}.{}.", s[0], s[1], s[2])))
            .context("every TEST-NET range is routed on this host already")?;
        let mut lab = NetLab {
            bridge: format!("skbr{tag}"),
            namespaces: Vec::new(),
            subnet,
        };
        let host = format!("{}/24", lab.addr(253));
        ip(&["link", "add", &lab.bridge, "type", "bridge"])?;
        ip(&["addr", "add", &host, "dev", &lab.bridge])?;
        ip(&["link", "set", &lab.bridge, "up"])?;
        for i in 0..n {
            let ns = format!("sk{tag}n{i}");
            ip(&["netns", "add", &ns])?;
            lab.namespaces.push(ns.clone());
            let outer = format!("skv{tag}h{i}");
            ip(&[
                "link", "add", &outer, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ])?;
            ip(&["link", "set", &outer, "master", &lab.bridge, "up"])?;
            let inner = format!("{}/24", lab.addr(i));
            ip(&["-n", &ns, "addr", "add", &inner, "dev", "eth0"])?;
            ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(Some(lab))
    }

    /// Replica `i`'s address (`.i+1`); `addr(253)` is the bridge's `.254`.
    fn addr(&self, i: usize) -> Ipv4Addr {
        let [a, b, c] = self.subnet;
        Ipv4Addr::new(a, b, c, u8::try_from(i + 1).expect("at most 253 replicas"))
    }

    pub fn ip(&self, i: usize) -> IpAddr {
        IpAddr::V4(self.addr(i))
    }

    pub fn namespace(&self, i: usize) -> &str {
        &self.namespaces[i]
    }

    /// Isolates replica `i` from every other replica (not from the test process).
    pub fn cut(&self, i: usize) -> anyhow::Result<()> {
        self.routes(i, "add")
    }

    pub fn heal(&self, i: usize) -> anyhow::Result<()> {
        self.routes(i, "del")
    }

    fn routes(&self, i: usize, action: &str) -> anyhow::Result<()> {
        for j in (0..self.namespaces.len()).filter(|&j| j != i) {
            let (to_j, to_i) = (
                format!("{}/32", self.addr(j)),
                format!("{}/32", self.addr(i)),
            );
            ip(&[
                "-n",
                &self.namespaces[i],
                "route",
                action,
                "unreachable",
                &to_j,
            ])?;
            ip(&[
                "-n",
                &self.namespaces[j],
                "route",
                action,
                "unreachable",
                &to_i,
            ])?;
        }
        Ok(())
    }
}

impl Drop for NetLab {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end inside it, and with it the outer end.
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .output();
    }
}

fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running ip")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
