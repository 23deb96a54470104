//! Architecture tests: the rules of ARCHITECTURE.md about who may use what, where Cargo alone
//! cannot keep them (as rust-analyzer's tidy tests do). They read `cargo metadata` and the
//! source files; nothing is built or started.
//!
//! - `deps`: which workspace crate may depend on which, and on openraft, redb, HTTP and
//!   wasmtime.
//! - `sources`: openraft named only inside the store and replica crates; certificate
//!   verification skipped only in `skiff-trust`.

mod deps;
mod sources;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// The workspace root (this crate lives in `tests/`).
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A workspace package: its directory (relative to the root) and its direct dependencies
/// (normal, dev and build alike: any of them lets code name the crate).
struct Package {
    dir: String,
    deps: Vec<String>,
}

/// Every workspace package by name, from `cargo metadata --no-deps`.
fn workspace() -> BTreeMap<String, Package> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata is JSON");
    let root = root();
    let mut packages = BTreeMap::new();
    for package in metadata["packages"].as_array().expect("packages") {
        let manifest = PathBuf::from(package["manifest_path"].as_str().expect("manifest_path"));
        let dir = manifest
            .parent()
            .and_then(|dir| dir.strip_prefix(&root).ok())
            .expect("a workspace package lives under the root")
            .to_string_lossy()
            .into_owned();
        let deps = package["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .map(|d| d["name"].as_str().expect("dependency name").to_owned())
            .collect();
        let name = package["name"].as_str().expect("name").to_owned();
        packages.insert(name, Package { dir, deps });
    }
    packages
}
