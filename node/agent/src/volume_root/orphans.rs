//! Roots under `/dev/shm` whose data directory is gone. Each default root names its data
//! directory in [`OWNER_FILE`]; an agent choosing its root removes this user's other
//! `skiff-*` roots whose data directory no longer exists, so deleting a data directory (by
//! hand, or a killed `skiff up`'s scratch directory) does not leave its tokens and secrets in
//! memory until the next reboot. A root without the file (or another user's) is left alone.

use std::path::{Path, PathBuf};

/// The file in a default root that names the data directory it belongs to.
pub const OWNER_FILE: &str = ".data-dir";

/// Names `data_dir` as the owner of `root`.
pub fn claim(root: &Path, data_dir: &Path) -> std::io::Result<()> {
    std::fs::write(
        root.join(OWNER_FILE),
        data_dir.as_os_str().as_encoded_bytes(),
    )
}

/// The data directory `root` names, if it names one.
fn owner_of(root: &Path) -> Option<PathBuf> {
    let bytes = std::fs::read(root.join(OWNER_FILE)).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    (!text.is_empty()).then(|| PathBuf::from(text))
}

/// Removes the orphaned `skiff-*` roots in `shm` other than `keep`; returns those removed.
pub fn sweep(shm: &Path, keep: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(shm) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let root = entry.path();
        let ours = entry.file_name().to_string_lossy().starts_with("skiff-")
            && root != keep
            && super::owned_by_me(&root);
        let Some(owner) = owner_of(&root).filter(|_| ours) else {
            continue;
        };
        if owner.exists() {
            continue;
        }
        match std::fs::remove_dir_all(&root) {
            Ok(()) => {
                tracing::info!(dir = %root.display(), data_dir = %owner.display(), "removed the memory volumes of a data directory that is gone");
                removed.push(root);
            }
            Err(e) => {
                tracing::warn!(dir = %root.display(), error = %e, "could not remove an orphaned volumes directory")
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_roots_of_deleted_data_dirs_are_removed() -> anyhow::Result<()> {
        let shm = tempfile::tempdir()?;
        let alive = tempfile::tempdir()?;
        let root = |name: &str| -> anyhow::Result<PathBuf> {
            let dir = shm.path().join(name);
            std::fs::create_dir(&dir)?;
            std::fs::write(dir.join("token"), "secret")?;
            Ok(dir)
        };
        let orphan = root("skiff-a-00000001")?;
        claim(&orphan, &alive.path().join("deleted"))?;
        let live = root("skiff-b-00000002")?;
        claim(&live, alive.path())?;
        let unmarked = root("skiff-c-00000003")?;
        let mine = root("skiff-d-00000004")?;
        claim(&mine, &alive.path().join("deleted-too"))?;
        let other = root("other-00000005")?;
        claim(&other, &alive.path().join("deleted"))?;

        assert_eq!(sweep(shm.path(), &mine), vec![orphan.clone()]);
        assert!(!orphan.exists());
        for kept in [&live, &unmarked, &mine, &other] {
            assert!(kept.join("token").exists(), "{}", kept.display());
        }
        assert!(sweep(&shm.path().join("missing"), &mine).is_empty());
        Ok(())
    }
}
