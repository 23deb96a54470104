//! The fail-closed proof: `skiff up` (a server and an agent) in a network namespace whose
//! only device is loopback. Pods connect to 10.x addresses no pod owns, outside the overlay
//! and inside it, over TCP and UDP; every call is refused by the overlay, and the kernel's
//! `OutNoRoutes` counter (which a connect or send to an unrouted address increments, as the
//! control step shows) does not move: no packet for those addresses was ever attempted.

use std::process::Command;

use anyhow::{Context, ensure};
use skiff_tests::fleet::poll;
use skiff_tests::{Kubectl, Replica, ReplicaOptions, run_bounded};

use crate::support::{LIMIT, WAIT, client_pod, finished, logs};

/// A network namespace with loopback only, deleted on drop.
struct LoopbackOnly(String);

impl LoopbackOnly {
    fn create() -> anyhow::Result<LoopbackOnly> {
        let name = format!("skov{}", std::process::id());
        ip(&["netns", "add", &name])?;
        let ns = LoopbackOnly(name);
        ip(&["-n", &ns.0, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    fn exec(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.0])
            .args(args)
            .output()
            .context("ip netns exec")?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `Ip: OutNoRoutes` of the namespace (/proc/net/snmp).
    fn out_no_routes(&self) -> anyhow::Result<u64> {
        let snmp = self.exec(&["cat", "/proc/net/snmp"])?;
        let mut ip_lines = snmp.lines().filter(|l| l.starts_with("Ip:"));
        let (names, values) = (ip_lines.next(), ip_lines.next());
        let (names, values) = names.zip(values).context("no Ip lines in /proc/net/snmp")?;
        let column = names
            .split_whitespace()
            .position(|n| n == "OutNoRoutes")
            .context("no OutNoRoutes")?;
        let value = values
            .split_whitespace()
            .nth(column)
            .context("short Ip line")?;
        Ok(value.parse()?)
    }

    /// The devices of the namespace (/proc/net/dev).
    fn devices(&self) -> anyhow::Result<Vec<String>> {
        let dev = self.exec(&["cat", "/proc/net/dev"])?;
        Ok(dev
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(|d| d.trim().to_owned())
            .collect())
    }
}

impl Drop for LoopbackOnly {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running ip")?;
    ensure!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

#[test]
fn unmapped_addresses_are_refused_and_nothing_leaves_the_namespace() {
    run_bounded("fail_closed", LIMIT, scenario());
}

async fn scenario() -> anyhow::Result<()> {
    let ns = LoopbackOnly::create()?;
    let mut options =
        ReplicaOptions::up("fail-closed").args(["--name", "sealed", "--lease-seconds", "2"]);
    options.netns = Some(ns.0.clone());
    let up = Replica::start(options).await?;
    let mut kubectl = Kubectl::for_replica(&up)?;
    kubectl.netns = Some(ns.0.clone());
    poll("node sealed Ready", WAIT, || async {
        let jsonpath = r#"jsonpath={.status.conditions[?(@.type=="Ready")].status}"#;
        Ok(kubectl
            .ok(&["get", "node", "sealed", "-o", jsonpath])
            .await?
            .trim()
            == "True")
    })
    .await?;
    ensure!(
        ns.devices()? == ["lo"],
        "the namespace has other devices: {:?}",
        ns.devices()?
    );

    // Control: a real connect to an unrouted 10.x address moves the counter.
    let before_control = ns.out_no_routes()?;
    ns.exec(&["timeout", "2", "bash", "-c", "echo > /dev/tcp/10.1.2.3/80"])?;
    let before = ns.out_no_routes()?;
    ensure!(
        before > before_control,
        "OutNoRoutes did not count a real attempt"
    );

    let calls = [
        ("outside-tcp", "10.1.2.3:80", "tcp"),
        ("outside-udp", "10.1.2.3:53", "udp"),
        ("unowned-pod", "10.244.200.7:80", "tcp"),
        ("unknown-vip", "10.96.123.45:80", "tcp"),
    ];
    for (name, target, proto) in calls {
        let pod = client_pod(name, "sealed", target, proto)?;
        kubectl
            .ok_stdin(&["apply", "-f", "-"], &pod.to_string())
            .await?;
    }
    for (name, target, _) in calls {
        let phase = finished(&kubectl, name).await?;
        let log = logs(&kubectl, "default", name, "client").await?;
        ensure!(
            phase == "Failed"
                && log.contains(&format!("error 0 calling {target}"))
                && !log.contains("reply"),
            "{name} ({target}) was not refused: {phase}\n{log}"
        );
    }
    let after = ns.out_no_routes()?;
    ensure!(
        after == before,
        "OutNoRoutes moved from {before} to {after}: a packet was attempted"
    );
    ensure!(
        ns.devices()? == ["lo"],
        "the namespace gained devices: {:?}",
        ns.devices()?
    );
    let links = ns.exec(&["ip", "-s", "link"])?;
    eprintln!("fail_closed: devices of the namespace after the calls:\n{links}");
    drop(up);
    Ok(())
}
