//! Repository hygiene checked by `cargo test`: every Rust source file opens with a `//!` line
//! saying what it is for (rust-analyzer's tidy rule).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !name.starts_with('.') && !name.starts_with("target") {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_says_what_it_is_for() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent");
    let mut files = Vec::new();
    rust_files(root, &mut files);
    assert!(
        files.len() > 20,
        "found only {} .rs files under {}",
        files.len(),
        root.display()
    );
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|f| f.strip_prefix(root).unwrap_or(f).display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a leading //! doc line:\n{}",
        missing.join("\n")
    );
}

/// The client verbs talk only the Kubernetes API: no skiff library beyond the CLI, no data
/// directory, no private endpoint of the server (the store's `/kv/v1`, `/skiff/v1` joins).
#[test]
fn client_verbs_talk_only_the_kubernetes_api() {
    let client = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/client");
    let mut files = Vec::new();
    rust_files(&client, &mut files);
    assert!(
        files.len() > 10,
        "found only {} files in {}",
        files.len(),
        client.display()
    );
    let forbidden = [
        "skiff_server",
        "skiff_agent",
        "/kv/v1",
        "/skiff/v1",
        "data_dir",
        "admin-token",
    ];
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for word in forbidden {
            if text.contains(word) {
                found.push(format!("{}: {word}", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the client reaches past the Kubernetes API:\n{}",
        found.join("\n")
    );
}
