//! The first write goes straight to each file; updates are written beside it and renamed
//! over it (a new inode, so a guest reading the old file never sees half of the new one).

use super::*;
use crate::translate::PlannedFile;
use std::os::unix::fs::MetadataExt;

fn volume(dir: &Path, contents: &str) -> VolumeFiles {
    let vol = dir.join("kube-api-access-x");
    VolumeFiles {
        dirs: vec![vol.clone()],
        files: vec![
            PlannedFile {
                path: vol.join("token"),
                contents: contents.as_bytes().to_vec(),
            },
            PlannedFile {
                path: vol.join("nested/ca.crt"),
                contents: b"ca".to_vec(),
            },
        ],
    }
}

fn inode(path: &Path) -> u64 {
    std::fs::metadata(path).expect("metadata").ino()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn in_place_keeps_the_inode_and_replace_renames_a_new_one() -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let token = scratch.path().join("kube-api-access-x/token");
    write_volume_files(&volume(scratch.path(), "one"), WriteMode::InPlace)?;
    assert_eq!(std::fs::read_to_string(&token)?, "one");
    assert_eq!(
        std::fs::read_to_string(scratch.path().join("kube-api-access-x/nested/ca.crt"))?,
        "ca"
    );
    let first = inode(&token);

    write_volume_files(&volume(scratch.path(), "two"), WriteMode::InPlace)?;
    assert_eq!(std::fs::read_to_string(&token)?, "two");
    assert_eq!(inode(&token), first, "an in-place write reuses the file");

    // Hold the old inode open, as a guest reading the token would.
    let held = std::fs::File::open(&token)?;
    write_volume_files(&volume(scratch.path(), "three"), WriteMode::Replace)?;
    assert_eq!(std::fs::read_to_string(&token)?, "three");
    assert_ne!(inode(&token), first, "an update is a new file renamed over");
    assert_eq!(
        std::io::read_to_string(held)?,
        "two",
        "the reader keeps its whole file"
    );
    assert_eq!(
        entries(&scratch.path().join("kube-api-access-x")),
        ["nested", "token"],
        "no partial file is left"
    );
    Ok(())
}

/// `/dev/full` answers every write with ENOSPC, as a full tmpfs does.
#[test]
fn a_full_filesystem_is_told_apart() -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let vol = scratch.path().join("kube-api-access-x");
    std::fs::create_dir_all(&vol)?;
    std::os::unix::fs::symlink("/dev/full", vol.join("token"))?;
    let err = write_volume_files(&volume(scratch.path(), "one"), WriteMode::InPlace)
        .expect_err("writing to /dev/full");
    assert!(err.is_storage_full(), "{err}");

    let not_a_dir = scratch.path().join("file");
    std::fs::write(&not_a_dir, b"x")?;
    let err = write_volume_files(&volume(&not_a_dir, "one"), WriteMode::InPlace)
        .expect_err("a file as the volume's parent");
    assert!(!err.is_storage_full(), "{err}");
    Ok(())
}

#[test]
fn removing_pod_dirs_takes_each_and_tolerates_missing_ones() -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let disk = scratch.path().join("pods/u-1");
    let memory = scratch.path().join("shm/u-1");
    write_volume_files(&volume(&memory, "t"), WriteMode::InPlace)?;
    std::fs::create_dir_all(disk.join("logs"))?;
    remove_pod_dirs(&[disk.clone(), memory.clone(), scratch.path().join("gone")]);
    assert!(!disk.exists() && !memory.exists());
    assert!(scratch.path().join("shm").exists(), "the root stays");
    Ok(())
}
