//! Per-store host state: WASI, wasi:http, virtual sockets, the memory limiter and the CPU
//! throttle, plus [`configure_store`] which applies limits and preemption to a store.

use crate::preopens::{LazyPreopens, PreopensView};
use crate::sockets::{PodSockets, VirtualSocketsView};
use crate::usage::UsageCounters;
use std::sync::{Arc, Mutex};
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

/// Store limits that remember whether a grow was refused (to report OOM, not a bare trap),
/// and book every granted grow (memory creation included) to the container's usage.
pub struct MemLimiter {
    inner: StoreLimits,
    pub oom: bool,
    /// The container's counters; this store's memory is released from them when it drops.
    usage: Arc<UsageCounters>,
    /// Linear memory bytes this store was granted.
    held: u64,
    /// The last grant, taken back if the grow then fails (beyond the memory's maximum).
    last_grant: u64,
}

impl MemLimiter {
    pub fn new(memory_bytes: u64, usage: Arc<UsageCounters>) -> Self {
        MemLimiter {
            usage,
            held: 0,
            last_grant: 0,
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
        if matches!(r, Ok(true)) {
            let grown = u64::try_from(desired.saturating_sub(current)).unwrap_or(u64::MAX);
            self.held = self.held.saturating_add(grown);
            self.last_grant = grown;
            self.usage.grew(grown);
        } else {
            self.oom = true;
        }
        r
    }
    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        tracing::debug!("a granted memory grow failed: {error:#}");
        self.held = self.held.saturating_sub(self.last_grant);
        self.usage.released(std::mem::take(&mut self.last_grant));
        Ok(())
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

impl Drop for MemLimiter {
    fn drop(&mut self) {
        // The store (and its memories) goes with its data.
        self.usage.released(self.held);
    }
}

/// CPU share enforcement, run from the epoch-deadline callback: a token bucket of CPU time.
///
/// The guest earns `millicores/1000` of every wall-clock nanosecond and spends what it runs;
/// when the balance is negative it sleeps until the balance is back at zero. Run time is
/// measured from when the guest actually got the CPU back (the pause future records it), and
/// timer oversleep is earned back at the next deadline, so the share holds on a busy box.
#[derive(Debug)]
pub struct CpuThrottle {
    /// `None`: only yield each tick; `Some(m)`: also sleep so the guest gets ≈ m/1000 of a core.
    millicores: Option<u32>,
    tick: Duration,
    /// When the guest last got the CPU back (written by the pause future when it ends).
    resumed: Arc<Mutex<Instant>>,
    /// Last time the balance was brought up to date.
    last: Instant,
    /// CPU time earned minus CPU time run, in nanoseconds (capped at one tick's share).
    balance_ns: i128,
}

impl CpuThrottle {
    pub fn new(millicores: Option<u32>, tick: Duration) -> Self {
        let now = Instant::now();
        CpuThrottle {
            millicores: millicores.map(|m| m.clamp(1, 1_000_000)),
            tick,
            resumed: Arc::new(Mutex::new(now)),
            last: now,
            balance_ns: 0,
        }
    }

    /// Whether the guest is held to less than a core (otherwise it only yields each tick).
    pub fn is_limited(&self) -> bool {
        self.millicores.is_some_and(|m| m < 1000)
    }

    /// Books the run since the last resume; returns how long to pause, if at all.
    fn account(&mut self, now: Instant) -> Option<Duration> {
        let m = self.millicores.filter(|m| *m < 1000)?;
        let resumed = *skiff_sync::lock(&self.resumed);
        // Time since resumed, capped: time spent blocked in host calls is not CPU.
        let ran = now.saturating_duration_since(resumed).min(self.tick * 2);
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        let earned = elapsed.as_nanos() as i128 * i128::from(m) / 1000;
        let burst = self.tick.as_nanos() as i128 * i128::from(m) / 1000;
        self.balance_ns = (self.balance_ns + earned - ran.as_nanos() as i128).min(burst);
        // Below a tenth of a tick the debt is left for the next deadline.
        if self.balance_ns >= -(self.tick.as_nanos() as i128 / 10) {
            *skiff_sync::lock(&self.resumed) = now;
            return None;
        }
        let pause_ns = -self.balance_ns * 1000 / i128::from(m);
        Some(Duration::from_nanos(
            u64::try_from(pause_ns).unwrap_or(u64::MAX),
        ))
    }

    /// What to do when the guest reaches its epoch deadline.
    fn on_deadline(&mut self) -> UpdateDeadline {
        let Some(pause) = self.account(Instant::now()) else {
            return UpdateDeadline::Yield(1);
        };
        let resumed = self.resumed.clone();
        UpdateDeadline::YieldCustom(
            1,
            Box::pin(async move {
                tokio::time::sleep(pause).await;
                *skiff_sync::lock(&resumed) = Instant::now();
            }),
        )
    }
}

/// Store data that carries limits.
pub trait Limited: Send + 'static {
    fn limiter(&mut self) -> &mut MemLimiter;
    fn cpu(&mut self) -> &mut CpuThrottle;
}

/// Applies the memory limiter and epoch preemption/throttling to `store`: every tick the
/// guest yields to tokio; a guest held below a core also pauses (the deadline callback).
pub fn configure_store<T: Limited>(store: &mut Store<T>) {
    store.limiter(|d| d.limiter());
    store.set_epoch_deadline(1);
    if store.data_mut().cpu().is_limited() {
        store.epoch_deadline_callback(|mut ctx| Ok(ctx.data_mut().cpu().on_deadline()));
    } else {
        // What `on_deadline` answers for an unlimited guest, without a callback per tick.
        store.epoch_deadline_async_yield_and_update(1);
    }
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
    /// The volumes, opened on the guest's first `get-directories` (not in `wasi`).
    pub preopens: LazyPreopens,
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

/// The view the lazy `wasi:filesystem/preopens` is implemented on.
pub fn lazy_preopens(h: &mut HostState) -> PreopensView<'_> {
    PreopensView {
        preopens: &mut h.preopens,
        table: &mut h.table,
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
        // Unlimited and whole-core guests get a plain yield per tick, no deadline callback.
        assert!(!unlimited.is_limited());
        assert!(!CpuThrottle::new(Some(1000), tick).is_limited());

        let mut quarter = CpuThrottle::new(Some(250), tick);
        assert!(quarter.is_limited());
        tokio::time::advance(tick).await;
        // Ran one tick at 250m: pause three ticks, so it runs 1/4 of the time.
        assert_eq!(quarter.account(Instant::now()), Some(tick * 3));
        // Overslept by a tick: the extra wait is earned back, so the next tick's pause is
        // shorter by a quarter tick's worth (one tick of wall time).
        tokio::time::advance(tick * 4).await;
        *skiff_sync::lock(&quarter.resumed) = Instant::now();
        assert_eq!(quarter.account(Instant::now()), None);
        tokio::time::advance(tick).await;
        assert_eq!(quarter.account(Instant::now()), Some(tick * 2));

        // Long host waits do not count as CPU, and idle time buys at most one tick's share.
        let mut half = CpuThrottle::new(Some(500), tick);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(half.account(Instant::now()), None);
        tokio::time::advance(tick * 2).await;
        assert_eq!(half.account(Instant::now()), Some(tick));
    }
}
