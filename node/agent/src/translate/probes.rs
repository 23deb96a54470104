//! Probes to what the prober runs: httpGet and tcpSocket with their timings, the port
//! resolved (a named port is looked up in the container's ports). Exec and gRPC probes
//! are not here: `skipped_probes` reports them.

use skiff_api::k8s_openapi::api::core::v1::{Container, Probe};
use skiff_api::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::time::Duration;

/// Which probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    Startup,
    Liveness,
    Readiness,
}

/// What a probe checks, at the pod's own address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeAction {
    /// GET `path` on `port`; 200-399 is success.
    Http { port: u16, path: String },
    /// A TCP connection to `port` is accepted.
    Tcp { port: u16 },
}

/// One probe of a container, with Kubernetes' defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSpec {
    pub kind: ProbeKind,
    pub action: ProbeAction,
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

/// The httpGet and tcpSocket probes of `c` (a probe whose port does not resolve is dropped).
pub fn probes(c: &Container) -> Vec<ProbeSpec> {
    [
        (ProbeKind::Startup, &c.startup_probe),
        (ProbeKind::Liveness, &c.liveness_probe),
        (ProbeKind::Readiness, &c.readiness_probe),
    ]
    .into_iter()
    .filter_map(|(kind, p)| probe(c, kind, p.as_ref()?))
    .collect()
}

fn probe(c: &Container, kind: ProbeKind, p: &Probe) -> Option<ProbeSpec> {
    let action = if let Some(http) = &p.http_get {
        ProbeAction::Http {
            port: port(c, &http.port)?,
            path: http.path.clone().unwrap_or_else(|| "/".into()),
        }
    } else if let Some(tcp) = &p.tcp_socket {
        ProbeAction::Tcp {
            port: port(c, &tcp.port)?,
        }
    } else {
        return None;
    };
    let secs = |v: Option<i32>, default: u64| {
        Duration::from_secs(v.and_then(|s| u64::try_from(s).ok()).unwrap_or(default))
    };
    let count = |v: Option<i32>, default: u32| {
        v.and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
            .unwrap_or(default)
    };
    Some(ProbeSpec {
        kind,
        action,
        initial_delay: secs(p.initial_delay_seconds, 0),
        period: secs(p.period_seconds, 10).max(Duration::from_secs(1)),
        timeout: secs(p.timeout_seconds, 1).max(Duration::from_secs(1)),
        // Liveness and startup probes must use 1 (API validation); readiness may not.
        success_threshold: count(p.success_threshold, 1),
        failure_threshold: count(p.failure_threshold, 3),
    })
}

fn port(c: &Container, port: &IntOrString) -> Option<u16> {
    match port {
        IntOrString::Int(n) => u16::try_from(*n).ok(),
        IntOrString::String(name) => c
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name))
            .and_then(|p| u16::try_from(p.container_port).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn probes_get_ports_and_kubes_defaults() {
        let c: Container = serde_json::from_value(json!({"name": "web",
            "ports": [{"name": "http", "containerPort": 8080}],
            "startupProbe": {"tcpSocket": {"port": 8080}, "failureThreshold": 30, "periodSeconds": 2},
            "livenessProbe": {"httpGet": {"port": "http", "path": "/healthz"}, "initialDelaySeconds": 5},
            "readinessProbe": {"httpGet": {"port": "nope"}}}))
        .unwrap();
        let s = Duration::from_secs;
        let got = probes(&c);
        let want = [
            ProbeSpec {
                kind: ProbeKind::Startup,
                action: ProbeAction::Tcp { port: 8080 },
                initial_delay: s(0),
                period: s(2),
                timeout: s(1),
                success_threshold: 1,
                failure_threshold: 30,
            },
            ProbeSpec {
                kind: ProbeKind::Liveness,
                action: ProbeAction::Http {
                    port: 8080,
                    path: "/healthz".into(),
                },
                initial_delay: s(5),
                period: s(10),
                timeout: s(1),
                success_threshold: 1,
                failure_threshold: 3,
            },
        ];
        assert_eq!(got, want);
    }
}
