//! WASI wiring for a container run: env, args, preopened volumes, stdout/stderr to the log,
//! sockets through the overlay; returns the future that runs the workload.

use super::Inner;
use super::container::{ContainerEntry, RunTokens};
use super::prepare::Prepared;
use crate::error::RuntimeError;
use crate::host::{CpuThrottle, DenyOutgoingHttp, HostState, MemLimiter, P1State};
use crate::logs::{LogFile, LogSink, LogStream};
use crate::network::{PodNetwork, PodRef, Proto, is_real_allowed};
use crate::preopens::LazyPreopens;
use crate::sockets::{PodSockets, loopback_only_check};
use crate::spec::{ContainerSpec, TerminationReason};
use crate::usage::{Metered, UsageCounters};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};
use wasmtime_wasi_http::WasiHttpCtx;

pub type Workload = Pin<Box<dyn Future<Output = TerminationReason> + Send>>;

/// The WASI context builder for one instance of `spec`; with `eager_volumes` (core modules)
/// the volumes are preopened here, otherwise [`LazyPreopens`] opens them on first use.
fn builder(
    inner: &Inner,
    spec: &ContainerSpec,
    log: &LogFile,
    eager_volumes: bool,
) -> Result<WasiCtxBuilder, RuntimeError> {
    let mut b = WasiCtxBuilder::new();
    b.arg(&spec.name);
    b.args(&spec.args);
    for (k, v) in &spec.env {
        b.env(k, v);
    }
    b.stdout(LogSink {
        log: log.clone(),
        stream: LogStream::Stdout,
    });
    b.stderr(LogSink {
        log: log.clone(),
        stream: LogStream::Stderr,
    });
    let volumes = if eager_volumes {
        &spec.volumes[..]
    } else {
        &[]
    };
    for v in volumes {
        let perms = if v.read_only {
            FsPerms::ReadOnly
        } else {
            FsPerms::ReadWrite
        };
        b.preopened_dir(&v.host_path, &v.guest_path, perms)
            .map_err(|e| {
                RuntimeError::InvalidSpec(format!(
                    "volume {} -> {}: {e}",
                    v.host_path.display(),
                    v.guest_path
                ))
            })?;
    }
    b.allow_tcp(true);
    b.allow_udp(true);
    b.allow_ip_name_lookup(true);
    b.socket_addr_check(loopback_only_check(inner.audit.clone(), inner.net.clone()));
    Ok(b)
}

fn memory_limit(inner: &Inner, spec: &ContainerSpec) -> u64 {
    spec.limits
        .memory_bytes
        .unwrap_or(inner.cfg.default_memory_limit)
}

pub(super) fn host_state(
    inner: &Inner,
    pod: &PodRef,
    spec: &ContainerSpec,
    log: &LogFile,
    usage: &Arc<UsageCounters>,
) -> Result<HostState, RuntimeError> {
    Ok(HostState {
        wasi: builder(inner, spec, log, false)?.build(),
        preopens: LazyPreopens::new(&spec.volumes)?,
        table: ResourceTable::new(),
        http: WasiHttpCtx::new(),
        hooks: DenyOutgoingHttp,
        sockets: PodSockets::new(
            pod.clone(),
            inner.net.clone(),
            usage.clone(),
            inner.audit.clone(),
        ),
        limiter: MemLimiter::new(memory_limit(inner, spec), usage.clone()),
        cpu: CpuThrottle::new(spec.limits.cpu_millicores, inner.cfg.engine.epoch_tick),
        epoch: inner.ticker.store_token(),
    })
}

/// Releases the HTTP listeners' overlay bindings however the server ends.
struct Published {
    net: Arc<dyn PodNetwork>,
    pod: PodRef,
    bindings: Vec<(SocketAddr, SocketAddr)>,
}

impl Drop for Published {
    fn drop(&mut self) {
        for (local, real) in &self.bindings {
            self.net.release(&self.pod, Proto::Tcp, *local, *real);
        }
    }
}

fn listen_http(
    inner: &Inner,
    pod: &PodRef,
    spec: &ContainerSpec,
) -> Result<(Vec<std::net::TcpListener>, Published), RuntimeError> {
    let ports: Vec<u16> = if spec.ports.is_empty() {
        vec![8080]
    } else {
        spec.ports.iter().map(|p| p.container_port).collect()
    };
    let net = &inner.net;
    let mut published = Published {
        net: net.clone(),
        pod: pod.clone(),
        bindings: Vec::new(),
    };
    let mut listeners = Vec::new();
    for port in ports {
        let requested = SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), port);
        let net_err = |e: crate::network::NetError| RuntimeError::Network(e.to_string());
        let real = net.bind(pod, Proto::Tcp, requested).map_err(net_err)?;
        if !is_real_allowed(&real) {
            return Err(RuntimeError::Network(format!(
                "overlay asked for a non-loopback bind {real}"
            )));
        }
        // A std listener: it is registered with the guest runtime's reactor where it is served.
        let listener = std::net::TcpListener::bind(real)?;
        listener.set_nonblocking(true)?;
        let real = listener.local_addr()?;
        let local = net
            .bound(pod, Proto::Tcp, requested, real)
            .map_err(net_err)?;
        published.bindings.push((local, real));
        net.listen(pod, local).map_err(net_err)?;
        listeners.push(listener);
    }
    Ok((listeners, published))
}

/// Builds the future that runs `entry` once.
pub(super) fn workload(
    inner: Arc<Inner>,
    pod: PodRef,
    entry: &ContainerEntry,
    tokens: RunTokens,
) -> Result<Workload, RuntimeError> {
    let spec = &entry.spec;
    let log = entry.log();
    let engine = inner.engine.clone();
    let usage = entry.usage.clone();
    Ok(match entry.prepared.clone() {
        Prepared::Command(pre) => {
            let state = host_state(&inner, &pod, spec, &log, &usage)?;
            let run = Box::pin(async move { super::run::run_command(&engine, &pre, state).await });
            Box::pin(Metered::new(run, usage))
        }
        Prepared::Wasip1(pre) => {
            let state = P1State {
                wasi: builder(&inner, spec, &log, true)?.build_p1(),
                limiter: MemLimiter::new(memory_limit(&inner, spec), usage.clone()),
                cpu: CpuThrottle::new(spec.limits.cpu_millicores, inner.cfg.engine.epoch_tick),
                epoch: inner.ticker.store_token(),
            };
            let run = Box::pin(async move { super::run::run_wasip1(&engine, &pre, state).await });
            Box::pin(Metered::new(run, usage))
        }
        Prepared::Http(pre) => {
            // Fail early (bad volume) rather than on the first request.
            host_state(&inner, &pod, spec, &log, &usage)?;
            let (listeners, published) = listen_http(&inner, &pod, spec)?;
            let spec = spec.clone();
            let make_inner = inner.clone();
            let make_state: super::http::MakeState = Arc::new(move || {
                let state = host_state(&make_inner, &pod, &spec, &log, &usage)?;
                Ok((state, usage.clone()))
            });
            Box::pin(async move {
                let _published = published;
                let listeners: Result<Vec<_>, _> = listeners
                    .into_iter()
                    .map(tokio::net::TcpListener::from_std)
                    .collect();
                let listeners = match listeners {
                    Ok(l) => l,
                    Err(e) => {
                        return TerminationReason::StartFailed {
                            message: format!("listener: {e}"),
                        };
                    }
                };
                super::http::serve(engine, pre, listeners, make_state, tokens.stop, tokens.kill)
                    .await
            })
        }
    })
}
