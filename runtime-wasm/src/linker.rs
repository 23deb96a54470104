//! The interfaces guests may import, and the check that names every missing one.

use crate::error::CompileError;
use crate::host::{HostState, P1State, lazy_preopens, virtual_sockets};
use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker};

/// Interfaces (without version) skiff provides to components, all at 0.2.x.
pub const PROVIDED: &[&str] = &[
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:io/error",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:cli/exit",
    "wasi:cli/environment",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
    "wasi:sockets/ip-name-lookup",
    "wasi:http/types",
    "wasi:http/outgoing-handler",
];

/// The component linker: wasmtime-wasi's p2 interfaces, wasi:http (outgoing refused by the
/// hooks), the virtual sockets shadowing wasmtime-wasi's tcp/udp/ip-name-lookup, and the lazy
/// preopens shadowing wasmtime-wasi's `wasi:filesystem/preopens`.
pub fn component_linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    linker.allow_shadowing(true);
    crate::sockets::add_to_linker(&mut linker, virtual_sockets)?;
    crate::preopens::add_to_linker(&mut linker, lazy_preopens)?;
    linker.allow_shadowing(false);
    Ok(linker)
}

/// The core-module linker for wasip1 jobs.
pub fn p1_linker(engine: &Engine) -> wasmtime::Result<wasmtime::Linker<P1State>> {
    let mut linker = wasmtime::Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s: &mut P1State| &mut s.wasi)?;
    Ok(linker)
}

/// Imports of `component` that skiff does not provide (empty when all are satisfied).
pub fn missing_imports(engine: &Engine, component: &Component) -> Vec<String> {
    let ty = component.component_type();
    ty.imports(engine)
        .filter(|(name, item)| {
            let (iface, version) = name.split_once('@').unwrap_or((name, ""));
            let known =
                PROVIDED.contains(&iface) && (version.is_empty() || version.starts_with("0.2."));
            !known || !matches!(item.ty, ComponentItem::ComponentInstance(_))
        })
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// Fails with [`CompileError::MissingImports`] listing every unsatisfied import.
pub fn check_imports(engine: &Engine, component: &Component) -> Result<(), CompileError> {
    let missing = missing_imports(engine, component);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CompileError::MissingImports(missing))
    }
}
