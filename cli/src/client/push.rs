//! `skiff push FILE NAME[:TAG]`: uploads a Wasm module or component to the cluster's built-in
//! registry as an OCI Wasm artifact (CNCF TAG Runtime's wasm-oci-artifact: an
//! `application/vnd.wasm.config.v0+json` config and one `application/wasm` layer), then prints
//! the manifest's digest. The cluster is the [`Session`]'s, found as every client verb finds
//! it (`--kubeconfig`, `$KUBECONFIG`, `~/.kube/config`, `--context`); `skiff run` of a local
//! file pushes through [`push_for_pods`]. A registry error reads as kubectl reads a Status
//! (`Error from server (DENIED): ...`), an unreachable cluster names its URL and kubeconfig.
//!
//! The registry calls themselves (blobs, manifest, errors) are in `push_registry`.

use std::path::PathBuf;

use super::failure::Failure;
use super::push_registry::Registry;
use super::session::Session;

/// The host name pod specs use for the built-in registry (`registry.skiff.local/app:v1`).
pub const REGISTRY_HOST: &str = "registry.skiff.local";

#[derive(clap::Args, Debug)]
pub struct PushArgs {
    /// The .wasm file (a core module or a component).
    pub file: PathBuf,
    /// Repository and tag, e.g. `app:v1` (tag `latest` when omitted); a leading
    /// `registry.skiff.local/` is allowed.
    pub reference: String,
}

/// Which kind of Wasm binary a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmKind {
    Module,
    Component,
}

/// Checks the Wasm preamble: `\0asm`, then version 1 (a core module) or layer 1 (a component).
pub fn wasm_kind(bytes: &[u8]) -> Option<WasmKind> {
    let preamble = bytes.get(..8)?;
    if &preamble[..4] != b"\0asm" {
        return None;
    }
    match preamble[4..8] {
        [1, 0, 0, 0] => Some(WasmKind::Module),
        [_, _, 1, 0] => Some(WasmKind::Component),
        _ => None,
    }
}

/// `NAME[:TAG]` -> (repository, tag).
fn split_reference(reference: &str) -> Result<(String, String), Failure> {
    let reference = reference
        .strip_prefix(REGISTRY_HOST)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(reference);
    let (name, tag) = match reference.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (reference, "latest"),
    };
    if name.is_empty() || tag.is_empty() {
        return Err(Failure::Usage(format!("{reference:?} is not NAME:TAG")));
    }
    Ok((name.to_owned(), tag.to_owned()))
}

/// Runs `skiff push`: checks the file is Wasm, uploads it, prints the reference and digest.
pub async fn run(session: &Session, args: &PushArgs) -> Result<(), Failure> {
    let file = &args.file;
    let bytes = std::fs::read(file)
        .map_err(|e| Failure::Usage(format!("reading {}: {e}", file.display())))?;
    let Some(kind) = wasm_kind(&bytes) else {
        return Err(Failure::Usage(format!(
            "{} is not a WebAssembly module or component (it does not start with the Wasm magic \
             and version); nothing was uploaded",
            file.display()
        )));
    };
    let (name, tag) = split_reference(&args.reference)?;
    let digest = Registry::of(session)
        .push_artifact(file, &bytes, kind, &name, &tag)
        .await?;
    println!("pushed {REGISTRY_HOST}/{name}:{tag}");
    println!("digest: {digest}");
    Ok(())
}

/// Pushes the Wasm file `file` (its `bytes`) as `name:tag` to the built-in registry of the
/// session's cluster; returns the reference a pod spec names it by. `skiff run` of a local
/// file calls this.
pub async fn push_for_pods(
    session: &Session,
    file: &std::path::Path,
    bytes: &[u8],
    name: &str,
    tag: &str,
) -> Result<String, Failure> {
    let Some(kind) = wasm_kind(bytes) else {
        return Err(Failure::Usage(format!(
            "{} is not a WebAssembly module or component",
            file.display()
        )));
    };
    Registry::of(session)
        .push_artifact(file, bytes, kind, name, tag)
        .await?;
    Ok(format!("{REGISTRY_HOST}/{name}:{tag}"))
}

#[cfg(test)]
mod tests {
    use super::{WasmKind, split_reference, wasm_kind};

    #[test]
    fn only_wasm_modules_and_components_are_accepted() {
        assert_eq!(wasm_kind(b"\0asm\x01\0\0\0rest"), Some(WasmKind::Module));
        assert_eq!(wasm_kind(b"\0asm\x0d\0\x01\0"), Some(WasmKind::Component));
        assert_eq!(wasm_kind(b"\0asm\x02\0\0\0"), None);
        assert_eq!(wasm_kind(b"(module)"), None);
        assert_eq!(wasm_kind(b"\0asm"), None);
    }

    #[test]
    fn references_split_into_name_and_tag() {
        let split = |r| split_reference(r).unwrap();
        assert_eq!(split("app:v1"), ("app".into(), "v1".into()));
        assert_eq!(
            split("registry.skiff.local/team/app:v2"),
            ("team/app".into(), "v2".into())
        );
        assert_eq!(split("app"), ("app".into(), "latest".into()));
        assert!(split_reference(":v1").is_err());
    }
}
