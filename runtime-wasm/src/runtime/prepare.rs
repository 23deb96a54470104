//! From an image reference to something instantiable: pull, compile (cached), decide the
//! workload kind, check imports, pre-instantiate.

use crate::compile::{Compiled, ModuleCache};
use crate::error::{CompileError, RuntimeError};
use crate::host::{HostState, P1State};
use crate::image::PulledImage;
use crate::linker::check_imports;
use crate::spec::WorkloadKind;
use wasmtime::component::Linker;
use wasmtime::component::types::ComponentItem;
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// A pre-instantiated workload (cheap to clone; shared by every container of the image).
#[derive(Clone)]
pub enum Prepared {
    Command(CommandPre<HostState>),
    Http(ProxyPre<HostState>),
    Wasip1(wasmtime::InstancePre<P1State>),
}

impl Prepared {
    pub fn kind(&self) -> WorkloadKind {
        match self {
            Prepared::Command(_) => WorkloadKind::Command,
            Prepared::Http(_) => WorkloadKind::Http,
            Prepared::Wasip1(_) => WorkloadKind::Wasip1,
        }
    }
}

fn exports_interface(
    engine: &wasmtime::Engine,
    c: &wasmtime::component::Component,
    iface: &str,
) -> bool {
    c.component_type().exports(engine).any(|(name, item)| {
        name.split_once('@').map_or(name, |(n, _)| n) == iface
            && matches!(item.ty, ComponentItem::ComponentInstance(_))
    })
}

/// Prepares the pulled `image` as `kind`.
pub async fn prepare(
    cache: &ModuleCache,
    linker: &Linker<HostState>,
    p1_linker: &wasmtime::Linker<P1State>,
    image: &PulledImage,
    kind: WorkloadKind,
) -> Result<Prepared, RuntimeError> {
    let reference = &image.reference;
    let compiled = cache.load(&image.digest, &image.path).await?;
    let engine = cache.engine();
    let inst_err = |e: wasmtime::Error| RuntimeError::Instantiate(format!("{e:#}"));
    let prepared = match compiled {
        Compiled::Module(module) => {
            if !matches!(kind, WorkloadKind::Auto | WorkloadKind::Wasip1) {
                return Err(RuntimeError::InvalidSpec(format!(
                    "{reference} is a core module; only wasip1 jobs can be core modules"
                )));
            }
            let pre = p1_linker.instantiate_pre(&module).map_err(|e| {
                RuntimeError::Compile(CompileError::MissingImports(vec![format!("{e:#}")]))
            })?;
            Prepared::Wasip1(pre)
        }
        Compiled::Component(component) => {
            check_imports(engine, &component)?;
            let has_run = exports_interface(engine, &component, "wasi:cli/run");
            let has_http = exports_interface(engine, &component, "wasi:http/incoming-handler");
            let as_http = match kind {
                WorkloadKind::Http => true,
                WorkloadKind::Command => false,
                WorkloadKind::Wasip1 => {
                    return Err(RuntimeError::InvalidSpec(format!(
                        "{reference} is a component, not a wasip1 core module"
                    )));
                }
                // wstd-style proxies also export a (dummy) wasi:cli/run; the HTTP export wins.
                WorkloadKind::Auto if has_http => true,
                WorkloadKind::Auto if has_run => false,
                WorkloadKind::Auto => return Err(CompileError::NoEntryPoint.into()),
            };
            let pre = linker.instantiate_pre(&component).map_err(inst_err)?;
            if as_http {
                Prepared::Http(ProxyPre::new(pre).map_err(|_| CompileError::NoEntryPoint)?)
            } else {
                Prepared::Command(CommandPre::new(pre).map_err(|_| CompileError::NoEntryPoint)?)
            }
        }
    };
    Ok(prepared)
}
