//! `kubectl logs` through node tunnels: a real `skiff server`, the agent's tunnel code in
//! this process serving the logs of real runtime-wasm containers (examples-wasm guests),
//! and the real kubectl. Each test starts its own replica and is bounded in time.

mod kubectl_logs;
mod reconnect;
mod refusals;
mod support;
