//! The instantiation probe: times the instantiation half of a command container's start
//! (what skiff adds to wasmtime's own `instantiate_async`), for the runtime benchmark.

use super::Runtime;
use super::prepare::Prepared;
use crate::error::RuntimeError;
use std::time::{Duration, Instant};

impl Runtime {
    /// Instantiates command container `name` of `pod` once, through the very code its start
    /// runs (container lookup, WASI context with its log and overlay sockets, memory limiter,
    /// CPU throttle, epoch deadline, `Store`, `instantiate_async`), and drops the instance
    /// without calling `run`. Returns how long that took.
    ///
    /// It runs in a task on the guest runtime like a real start, so guest start functions
    /// never run on the caller's runtime; the timer runs inside that task, so the hop onto
    /// the guest runtime and the instance's teardown are not counted.
    #[doc(hidden)]
    pub async fn time_instantiation(
        &self,
        pod: &str,
        name: &str,
    ) -> Result<Duration, RuntimeError> {
        let rt = self.clone();
        let (pod, name) = (pod.to_owned(), name.to_owned());
        let timed = self.0.guest_handle.spawn(async move {
            let t = Instant::now();
            let (pod_ref, entry) = rt.container(&pod, &name)?;
            let Prepared::Command(pre) = &entry.prepared else {
                return Err(RuntimeError::InvalidSpec(format!(
                    "{pod}/{name} is not a command component"
                )));
            };
            let state =
                super::wasi::host_state(&rt.0, &pod_ref, &entry.spec, &entry.log(), &entry.usage)?;
            let instance = super::run::instantiate_command(&rt.0.engine, pre, state).await;
            let elapsed = t.elapsed();
            match instance {
                Ok(_) => Ok(elapsed),
                Err(reason) => Err(RuntimeError::Instantiate(format!("{reason:?}"))),
            }
        });
        timed
            .await
            .map_err(|e| RuntimeError::Fatal(format!("instantiation probe: {e}")))?
    }
}
