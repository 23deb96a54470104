//! The crate's house rules, checked by `cargo test` (as rust-analyzer's tidy test does):
//! every file opens with a `//!` line; no `unwrap()`/`expect(` outside test files; every
//! `#[allow` carries a written reason; no file over 350 lines.

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn is_test_file(path: &Path) -> bool {
    let name = path.to_string_lossy();
    name.contains("tests") || name.ends_with("testutil.rs") || name.ends_with("tidy.rs")
}

#[test]
fn house_rules() {
    let mut all = Vec::new();
    files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut all);
    assert!(all.len() > 20, "found the sources");
    for path in all {
        let text = std::fs::read_to_string(&path).expect("readable");
        let shown = path.display();
        assert!(text.starts_with("//!"), "{shown} must open with a //! line");
        assert!(text.lines().count() <= 350, "{shown} is too long");
        // Code after `#[cfg(test)] mod tests {` in the same file is test code.
        let code = text
            .split("#[cfg(test)]\nmod tests {")
            .next()
            .unwrap_or_default();
        if !is_test_file(&path) {
            let unwrap = [".unwrap()", ".expect("].iter().any(|p| code.contains(p));
            assert!(!unwrap, "{shown}: unwrap()/expect( outside tests");
        }
        for line in text
            .lines()
            .filter(|l| l.trim_start().starts_with("#[allow"))
        {
            assert!(
                line.contains("// reason:"),
                "{shown}: #[allow] without a reason: {line}"
            );
        }
    }
}
