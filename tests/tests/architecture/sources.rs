//! Rules about source text: openraft is named only inside the store and replica crates (their
//! public types may carry openraft types, so Cargo alone cannot keep this), and only
//! `skiff-trust` builds a TLS config that skips certificate verification. That every file
//! opens with a `//!` line is `cli/tests/tidy.rs`'s rule.

use std::path::{Path, PathBuf};

use super::root;

/// The crates that may name openraft: they hold the Raft node and its storage.
const RAFT_CRATES: &[&str] = &["control/store", "control/replica"];

/// Folders that hold no workspace source of ours.
const SKIPPED: &[&str] = &["target", "examples-wasm"];

/// Every `.rs` file under `dir`, skipping build output and hidden folders.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).expect("a readable folder");
    for entry in entries {
        let path = entry.expect("a readable entry").path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        if path.is_dir() {
            if !name.starts_with('.') && !SKIPPED.contains(&name.as_str()) {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

fn workspace_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&root(), &mut files);
    files.sort();
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// The code lines (`path:line: text`) that `matches`, in files outside `allowed` folders and
/// outside these tests.
fn code_lines_outside(allowed: &[&str], matches: impl Fn(&str) -> bool) -> Vec<String> {
    let this_test = "tests/tests/architecture/";
    let mut offenders = Vec::new();
    for file in workspace_files() {
        let path = relative(&file);
        if allowed.iter().any(|c| path.starts_with(c)) || path.starts_with(this_test) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a readable file");
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if !code.starts_with("//") && matches(code) {
                offenders.push(format!("{path}:{}: {code}", n + 1));
            }
        }
    }
    offenders
}

#[test]
fn openraft_is_named_only_in_the_store_and_the_replica() {
    let offenders = code_lines_outside(RAFT_CRATES, |code| {
        code.contains("openraft::") || code.contains("TypeConfig")
    });
    assert!(
        offenders.is_empty(),
        "openraft types outside skiff-store and skiff-replica:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn only_skiff_trust_skips_certificate_verification() {
    let offenders = code_lines_outside(&["trust/"], |code| {
        code.contains(".dangerous()") || code.contains("ServerCertVerified::assertion")
    });
    assert!(
        offenders.is_empty(),
        "a TLS config that skips verification outside skiff-trust:\n{}",
        offenders.join("\n")
    );
}
