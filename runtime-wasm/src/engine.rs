//! The wasmtime `Engine` shared by all pods, and the one epoch ticker that preempts guests.
//!
//! Every store runs with epoch interruption: each tick a running guest reaches its deadline
//! and the store's callback yields to tokio (and throttles when a CPU limit is set), so a
//! busy guest can never starve the others.

use crate::error::RuntimeError;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Pooling allocator sizing for dense nodes (`RuntimeConfig.engine.pooling`).
///
/// Slots are reserved up front and reused, so instantiation does no mmap/munmap. A
/// container that finds every slot taken fails to start with a message naming the pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolingConfig {
    /// Concurrent component instances (≈ running containers + in-flight HTTP requests).
    pub max_instances: u32,
    /// Largest linear memory a pooled instance may grow to; memory limits above it are
    /// capped here (a grow past it fails as a trap, not as OOM).
    pub max_memory_bytes: u64,
}

impl Default for PoolingConfig {
    fn default() -> Self {
        PoolingConfig {
            max_instances: 1000,
            max_memory_bytes: 256 << 20,
        }
    }
}

/// Core instances, and tables, one Rust wasip2 component needs (its module plus the
/// adapter shims `wasm-component-ld` adds), with room to spare.
const CORE_PER_COMPONENT: u32 = 8;

/// Bytes of a pooled memory or table reset with memset rather than madvise on reuse.
const KEEP_RESIDENT: usize = 256 << 10;

/// Engine settings; the same settings must be used for raw-wasmtime comparisons.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// `None`: on-demand allocation (default); `Some`: pooling allocator.
    pub pooling: Option<PoolingConfig>,
    /// Maximum Wasm stack per guest; exceeding it traps with a stack overflow.
    pub max_wasm_stack: usize,
    /// Epoch tick: the preemption quantum.
    pub epoch_tick: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            pooling: None,
            max_wasm_stack: 1 << 20,
            epoch_tick: Duration::from_millis(5),
        }
    }
}

/// The wasmtime `Config` for `cfg` (exposed so benches can build a raw engine alike).
pub fn wasmtime_config(cfg: &EngineConfig) -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    config.max_wasm_stack(cfg.max_wasm_stack);
    // Async fibers need more host stack than the guest's own Wasm stack.
    config.async_stack_size(cfg.max_wasm_stack + (1 << 20));
    if let Some(pool) = cfg.pooling {
        let mut p = PoolingAllocationConfig::default();
        p.total_component_instances(pool.max_instances);
        p.total_core_instances(pool.max_instances.saturating_mul(CORE_PER_COMPONENT));
        p.total_memories(pool.max_instances);
        p.total_tables(pool.max_instances.saturating_mul(CORE_PER_COMPONENT));
        p.total_stacks(pool.max_instances);
        p.max_memory_size(pool.max_memory_bytes as usize);
        // Zero the first pages of a freed slot in place instead of madvise: no syscall and
        // no TLB shootdown per HTTP request, and the next instance does not fault them in.
        p.linear_memory_keep_resident(KEEP_RESIDENT);
        p.table_keep_resident(KEEP_RESIDENT);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(p));
    }
    config
}

/// Builds the engine.
pub fn build_engine(cfg: &EngineConfig) -> Result<Engine, RuntimeError> {
    Engine::new(&wasmtime_config(cfg)).map_err(|e| RuntimeError::Fatal(format!("engine: {e}")))
}

/// Increments the engine's epoch every tick on a dedicated thread (not a tokio task: it must
/// keep ticking even when every tokio worker is busy running guests).
///
/// Every store holds a [`EpochTicker::store_token`]. After the ticker is dropped the thread
/// keeps ticking until the last token is gone: a spinning guest only returns to its executor
/// (and so can be dropped) at an epoch deadline, so stopping the ticks first would leave it
/// spinning forever.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    alive: Arc<()>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for EpochTicker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochTicker").finish_non_exhaustive()
    }
}

impl EpochTicker {
    pub fn start(engine: Engine, tick: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let alive = Arc::new(());
        let flag = stop.clone();
        let weak = Arc::downgrade(&alive);
        let thread = std::thread::Builder::new()
            .name("skiff-epoch".into())
            .spawn(move || {
                // Ends once stopped and no store token is left (the ticker gives up
                // its own reference when dropped).
                while !flag.load(Ordering::Relaxed) || weak.strong_count() > 0 {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })
            .ok();
        EpochTicker {
            stop,
            alive,
            thread,
        }
    }

    /// A token each store keeps while it may run guest code.
    pub fn store_token(&self) -> Arc<()> {
        self.alive.clone()
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        // Give up our own token first: from now on only stores keep the thread ticking.
        let weak = Arc::downgrade(&self.alive);
        self.alive = Arc::new(());
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.take();
        // Join only when no store is left; otherwise the thread ends by itself after the
        // last store is dropped (joining here could wait on the very runtime we block).
        if weak.strong_count() == 0
            && let Some(t) = thread
        {
            let _ = t.join();
        }
    }
}
