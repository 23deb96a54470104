//! Running one command or wasip1 container to completion, and classifying how it ended.

use crate::host::{HostState, Limited, configure_store};
use crate::spec::TerminationReason;
use wasmtime::{Engine, Store, Trap};
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::p2::bindings::{Command, CommandPre};

/// Maps the outcome of a guest call to a reason; `oom` says a memory grow was refused.
pub fn classify(result: wasmtime::Result<Result<(), ()>>, oom: bool) -> TerminationReason {
    match result {
        Ok(Ok(())) => TerminationReason::Exited { code: 0 },
        Ok(Err(())) => TerminationReason::Exited { code: 1 },
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<I32Exit>() {
                return TerminationReason::Exited { code: exit.0 };
            }
            if oom {
                return TerminationReason::OutOfMemory;
            }
            match e.downcast_ref::<Trap>() {
                Some(Trap::StackOverflow) => TerminationReason::StackOverflow,
                Some(Trap::Interrupt) => TerminationReason::Interrupted,
                Some(trap) => TerminationReason::Trap {
                    message: trap.to_string(),
                },
                None => TerminationReason::Trap {
                    message: format!("{e:#}"),
                },
            }
        }
    }
}

/// A command instance, ready to run.
pub(super) type CommandInstance = (Store<HostState>, Command);

/// Makes a store for `data` (limits, preemption) and instantiates the command in it: the
/// instantiation half of a start, shared with [`super::Runtime::time_instantiation`].
pub(super) async fn instantiate_command(
    engine: &Engine,
    pre: &CommandPre<HostState>,
    data: HostState,
) -> Result<CommandInstance, TerminationReason> {
    let mut store = Store::new(engine, data);
    configure_store(&mut store);
    match pre.instantiate_async(&mut store).await {
        Ok(c) => Ok((store, c)),
        Err(e) => Err(start_failed(e, store.data_mut().limiter().oom)),
    }
}

/// Runs a command component.
pub async fn run_command(
    engine: &Engine,
    pre: &CommandPre<HostState>,
    data: HostState,
) -> TerminationReason {
    let (mut store, command) = match instantiate_command(engine, pre, data).await {
        Ok(i) => i,
        Err(reason) => return reason,
    };
    let result = command.wasi_cli_run().call_run(&mut store).await;
    let oom = store.data_mut().limiter().oom;
    classify(result, oom)
}

/// Runs a wasip1 module's `_start`.
pub async fn run_wasip1(
    engine: &Engine,
    pre: &wasmtime::InstancePre<crate::host::P1State>,
    data: crate::host::P1State,
) -> TerminationReason {
    let mut store = Store::new(engine, data);
    configure_store(&mut store);
    let instance = match pre.instantiate_async(&mut store).await {
        Ok(i) => i,
        Err(e) => return start_failed(e, store.data_mut().limiter().oom),
    };
    let start = match instance.get_typed_func::<(), ()>(&mut store, "_start") {
        Ok(f) => f,
        Err(e) => return start_failed(e, false),
    };
    let result = start.call_async(&mut store, ()).await.map(Ok);
    let oom = store.data_mut().limiter().oom;
    classify(result, oom)
}

pub(super) fn start_failed(e: wasmtime::Error, oom: bool) -> TerminationReason {
    if oom {
        return TerminationReason::OutOfMemory;
    }
    if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return TerminationReason::StartFailed {
            message: format!(
                "the node's instance pool is full ({e:#}); raise the runtime's \
                 pooling max_instances or run fewer containers"
            ),
        };
    }
    TerminationReason::StartFailed {
        message: format!("{e:#}"),
    }
}
