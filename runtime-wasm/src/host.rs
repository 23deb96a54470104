//! Per-store host state: WASI, wasi:http, virtual sockets, the memory limiter and the CPU
//! throttle, plus [`configure_store`] which applies limits and preemption to a store.

use crate::sockets::{PodSockets, VirtualSocketsView};
use std::time::Duration;
use tokio::time::Instant;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::sockets::WasiSocketsCtxView;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

/// Memory cap when the spec gives none.
pub const DEFAULT_MEMORY_LIMIT: u64 = 256 << 20;

/// Store limits that remember whether a grow was refused (to report OOM, not a bare trap).
pub struct MemLimiter {
    inner: StoreLimits,
    pub oom: bool,
}

impl MemLimiter {
    pub fn new(memory_bytes: u64) -> Self {
        MemLimiter {
            inner: StoreLimitsBuilder::new()
                .memory_size(usize::try_from(memory_bytes).unwrap_or(usize::MAX))
                .instances(64)
                .tables(64)
                .memories(16)
                .trap_on_grow_failure(true)
                .build(),
            oom: false,
        }
    }
}

impl ResourceLimiter for MemLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let r = self.inner.memory_growing(current, desired, maximum);
        if !matches!(r, Ok(true)) {
            self.oom = true;
        }
        r
    }
    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }
    fn instances(&self) -> usize {
        self.inner.instances()
    }
    fn tables(&self) -> usize {
        self.inner.tables()
    }
    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// CPU share enforcement, run from the epoch-deadline callback.
#[derive(Debug)]
pub struct CpuThrottle {
    /// `None`: only yield each tick; `Some(m)`: also sleep so the guest gets ≈ m/1000 of a core.
    millicores: Option<u32>,
    tick: Duration,
    /// When the guest was last allowed to run again.
    resumed_at: Instant,
}

impl CpuThrottle {
    pub fn new(millicores: Option<u32>, tick: Duration) -> Self {
        CpuThrottle {
            millicores: millicores.map(|m| m.clamp(1, 1_000_000)),
            tick,
            resumed_at: Instant::now(),
        }
    }

    /// What to do when the guest reaches its epoch deadline.
    fn on_deadline(&mut self) -> UpdateDeadline {
        let Some(m) = self.millicores.filter(|m| *m < 1000) else {
            return UpdateDeadline::Yield(1);
        };
        let now = Instant::now();
        // Time run since last resumed, capped: time spent blocked in host calls is not CPU.
        let ran = now
            .saturating_duration_since(self.resumed_at)
            .min(self.tick * 2);
        let pause = ran * (1000 - m) / m;
        self.resumed_at = now + pause;
        UpdateDeadline::YieldCustom(1, Box::pin(tokio::time::sleep(pause)))
    }
}

/// Store data that carries limits.
pub trait Limited: Send + 'static {
    fn limiter(&mut self) -> &mut MemLimiter;
    fn cpu(&mut self) -> &mut CpuThrottle;
}

/// Applies the memory limiter and epoch preemption/throttling to `store`.
pub fn configure_store<T: Limited>(store: &mut Store<T>) {
    store.limiter(|d| d.limiter());
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut ctx| Ok(ctx.data_mut().cpu().on_deadline()));
}

/// Outgoing wasi:http is refused: guests reach other pods only through wasi:sockets.
#[derive(Debug, Default)]
pub struct DenyOutgoingHttp;

impl WasiHttpHooks for DenyOutgoingHttp {
    fn send_request(
        &mut self,
        _request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<wasmtime_wasi_http::WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                )>,
            > + Send,
    > {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}

/// Store data of a component (command or HTTP) instance.
pub struct HostState {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub http: WasiHttpCtx,
    pub hooks: DenyOutgoingHttp,
    pub sockets: PodSockets,
    pub limiter: MemLimiter,
    pub cpu: CpuThrottle,
    /// Keeps the epoch ticker running while this store exists.
    pub epoch: std::sync::Arc<()>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl Limited for HostState {
    fn limiter(&mut self) -> &mut MemLimiter {
        &mut self.limiter
    }
    fn cpu(&mut self) -> &mut CpuThrottle {
        &mut self.cpu
    }
}

/// The getter the virtual socket bindings use.
pub fn virtual_sockets(h: &mut HostState) -> VirtualSocketsView<'_> {
    VirtualSocketsView {
        inner: WasiSocketsCtxView {
            ctx: h.wasi.sockets(),
            table: &mut h.table,
        },
        pod: &mut h.sockets,
    }
}

/// Store data of a wasip1 core module (jobs only; no sockets in wasip1).
pub struct P1State {
    pub wasi: WasiP1Ctx,
    pub limiter: MemLimiter,
    pub cpu: CpuThrottle,
    /// Keeps the epoch ticker running while this store exists.
    pub epoch: std::sync::Arc<()>,
}

impl Limited for P1State {
    fn limiter(&mut self) -> &mut MemLimiter {
        &mut self.limiter
    }
    fn cpu(&mut self) -> &mut CpuThrottle {
        &mut self.cpu
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn throttle_pauses_in_proportion_to_the_share() {
        let tick = Duration::from_millis(10);
        let mut unlimited = CpuThrottle::new(None, tick);
        assert!(matches!(unlimited.on_deadline(), UpdateDeadline::Yield(1)));

        let mut quarter = CpuThrottle::new(Some(250), tick);
        tokio::time::advance(tick).await;
        quarter.on_deadline();
        // Ran one tick at 250m: pause three ticks, so it runs 1/4 of the time.
        assert_eq!(quarter.resumed_at - Instant::now(), tick * 3);

        // Long host waits do not count as CPU: the run time is capped at two ticks.
        let mut half = CpuThrottle::new(Some(500), tick);
        tokio::time::advance(Duration::from_secs(5)).await;
        half.on_deadline();
        assert_eq!(half.resumed_at - Instant::now(), tick * 2);
    }
}
