//! The `instantiate` bench: skiff vs raw wasmtime with the same engine settings, as pure
//! instantiation and as the whole run of the trivial `job` to its exit.

use crate::{engine_config, median, pod_spec, runtime};
use anyhow::Result;
use skiff_runtime_wasm::engine::{EpochTicker, wasmtime_config};
use skiff_runtime_wasm::host::DEFAULT_MEMORY_LIMIT;
use skiff_runtime_wasm::spec::{ContainerSpec, TerminationReason};
use skiff_runtime_wasm::{Runtime, examples};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::bindings::{Command, CommandPre};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Raw wasmtime's store data: WASI plus the store limits `wasmtime run`/`serve` always set.
struct Raw {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl WasiView for Raw {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Raw wasmtime's instance of the job: WasiCtx (env; stdout discarded, or appended to `log`),
/// Store with skiff's memory cap and epoch preemption (deadline 1, async yield), and
/// `instantiate_pre`'s `instantiate_async`.
async fn raw_instance(
    engine: &Engine,
    pre: &CommandPre<Raw>,
    log: Option<PathBuf>,
) -> Result<(Store<Raw>, Command)> {
    let mut b = WasiCtx::builder();
    b.env("LIMIT", "2");
    if let Some(path) = log {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        b.stdout(wasmtime_wasi::cli::OutputFile::new(file));
    }
    let limits = StoreLimitsBuilder::new()
        .memory_size(DEFAULT_MEMORY_LIMIT as usize)
        .trap_on_grow_failure(true)
        .build();
    let data = Raw {
        wasi: b.build(),
        table: ResourceTable::new(),
        limits,
    };
    let mut store = Store::new(engine, data);
    store.limiter(|d| &mut d.limits);
    store.set_epoch_deadline(1);
    store.epoch_deadline_async_yield_and_update(1);
    let cmd = pre.instantiate_async(&mut store).await?;
    Ok((store, cmd))
}

/// Raw wasmtime's whole run of the job.
async fn raw_run(engine: Engine, pre: CommandPre<Raw>, log: Option<PathBuf>) -> Result<()> {
    let (mut store, cmd) = raw_instance(&engine, &pre, log).await?;
    cmd.wasi_cli_run()
        .call_run(&mut store)
        .await?
        .map_err(|()| anyhow::anyhow!("job failed"))
}

/// Raw wasmtime's instantiation, timed inside a task on its guest runtime; the instance is
/// dropped after the timer stops.
async fn raw_instantiation(
    guests: &tokio::runtime::Runtime,
    engine: &Engine,
    pre: &CommandPre<Raw>,
) -> Result<Duration> {
    let (engine, pre) = (engine.clone(), pre.clone());
    guests
        .spawn(async move {
            let t = Instant::now();
            let instance = raw_instance(&engine, &pre, None).await;
            let elapsed = t.elapsed();
            instance.map(|_| elapsed)
        })
        .await?
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// Instantiations timed for the pure-instantiation figure (each side; cheap, so many).
const INSTANTIATIONS: usize = 2000;

/// Median times over `rounds` interleaved rounds (after 20 warm-up rounds), for the `job`
/// example (LIMIT=2), with the runtime's engine settings (`POOLING` alike for both):
/// - instantiation: the time to turn the prepared image into an instance, timed inside a
///   task on a guest runtime: skiff's `time_instantiation` (its start's own code: lookup,
///   WASI context, sockets, limits, Store, instantiate) vs raw WasiCtx + Store + limits +
///   epoch deadline + `instantiate_async`; neither counts the hop or the teardown;
/// - skiff: create_container + start_container + wait_container (then removed, untimed);
/// - raw: the same job in raw wasmtime inline on the caller's task, output discarded;
/// - raw+: raw wasmtime doing what any container runtime must also do: the run is spawned on
///   a separate runtime and awaited (the caller is not blocked while a guest runs) and stdout
///   goes to a file.
pub async fn instantiate(rounds: usize) -> Result<()> {
    let job = examples::build()?.path("job").to_owned();
    let dir = tempfile::tempdir()?;
    let (rt, _net) = runtime(dir.path())?;
    rt.create_pod(pod_spec("p", 0, dir.path().join("logs")))?;
    let spec = |name: &str| {
        let mut spec = ContainerSpec::new(name, job.display().to_string());
        spec.env.insert("LIMIT".into(), "2".into());
        spec
    };
    rt.create_container("p", spec("probe")).await?;
    let engine = Engine::new(&wasmtime_config(&engine_config()))?;
    let ticker = EpochTicker::start(engine.clone(), engine_config().epoch_tick);
    let component = Component::from_file(&engine, &job)?;
    let mut linker: Linker<Raw> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    let pre = CommandPre::new(linker.instantiate_pre(&component)?)?;
    let guests = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .event_interval(2)
        .enable_all()
        .build()?;
    let (mut skiff_inst, mut raw_inst) = (Vec::new(), Vec::new());
    for i in 0..INSTANTIATIONS + 100 {
        // Alternate which goes first so neither always follows the other's teardown.
        let (s, r) = if i % 2 == 0 {
            let s = rt.time_instantiation("p", "probe").await?;
            (s, raw_instantiation(&guests, &engine, &pre).await?)
        } else {
            let r = raw_instantiation(&guests, &engine, &pre).await?;
            (rt.time_instantiation("p", "probe").await?, r)
        };
        if i >= 100 {
            skiff_inst.push(s);
            raw_inst.push(r);
        }
    }
    let mut m = Medians {
        skiff_inst,
        raw_inst,
        ..Medians::default()
    };
    for i in 0..rounds + 20 {
        let (skiff, created, started) = skiff_job(&rt, &format!("c{i}"), spec).await?;

        let t = Instant::now();
        raw_run(engine.clone(), pre.clone(), None).await?;
        let raw = t.elapsed();

        let t = Instant::now();
        let log = dir.path().join(format!("raw-{i}.log"));
        guests
            .spawn(raw_run(engine.clone(), pre.clone(), Some(log)))
            .await??;
        let raw_plus = t.elapsed();
        if i >= 20 {
            // The first rounds warm caches and allocators for all three.
            m.push(skiff, created, started, raw, raw_plus);
        }
    }
    drop(ticker);
    m.print(rounds);
    rt.shutdown(Duration::ZERO).await;
    guests.shutdown_background();
    Ok(())
}

/// One skiff run of the job: (total, create_container, start_container).
async fn skiff_job(
    rt: &Runtime,
    name: &str,
    spec: impl Fn(&str) -> ContainerSpec,
) -> Result<(Duration, Duration, Duration)> {
    let spec = spec(name);
    let t = Instant::now();
    rt.create_container("p", spec).await?;
    let created = t.elapsed();
    rt.start_container("p", name).await?;
    let started = t.elapsed();
    let r = rt.wait_container("p", name).await?;
    let total = t.elapsed();
    anyhow::ensure!(r == TerminationReason::Exited { code: 0 }, "{r:?}");
    rt.remove_container("p", name).await?;
    Ok((total, created, started - created))
}

#[derive(Default)]
struct Medians {
    skiff_inst: Vec<Duration>,
    raw_inst: Vec<Duration>,
    skiff: Vec<Duration>,
    creates: Vec<Duration>,
    starts: Vec<Duration>,
    raw: Vec<Duration>,
    raw_plus: Vec<Duration>,
}

impl Medians {
    fn push(
        &mut self,
        skiff: Duration,
        created: Duration,
        started: Duration,
        raw: Duration,
        raw_plus: Duration,
    ) {
        self.skiff.push(skiff);
        self.creates.push(created);
        self.starts.push(started);
        self.raw.push(raw);
        self.raw_plus.push(raw_plus);
    }

    fn print(self, rounds: usize) {
        // Each pair ran back to back, under the same load: the median of the pairs' ratios
        // is steadier than the ratio of the medians on a busy box.
        let mut paired: Vec<f64> = (self.skiff_inst.iter().zip(&self.raw_inst))
            .map(|(s, r)| ratio(*s, *r))
            .collect();
        paired.sort_by(f64::total_cmp);
        let (si, ri) = (median(self.skiff_inst), median(self.raw_inst));
        println!(
            "instantiation (median of {INSTANTIATIONS}; context + Store + limits + \
             instantiate_async, timed inside a guest-runtime task): skiff {si:?}  raw wasmtime \
             {ri:?} (ratio {:.2}x, median paired ratio {:.2}x)  (target <= 1.2x)",
            ratio(si, ri),
            paired[paired.len() / 2]
        );
        let (s, r, rp) = (median(self.skiff), median(self.raw), median(self.raw_plus));
        println!(
            "instantiate+run job (median of {rounds}): skiff {s:?}  raw wasmtime {r:?} \
             (ratio {:.2}x)  raw + task hop + log file {rp:?} (ratio {:.2}x)  (target <= 1.2x)",
            ratio(s, r),
            ratio(s, rp)
        );
        println!(
            "  skiff steps (medians): create_container {:?}, start_container {:?}",
            median(self.creates),
            median(self.starts)
        );
    }
}
