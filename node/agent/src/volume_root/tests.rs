//! The volumes root: `/dev/shm` only when it is a big enough tmpfs, a name per agent, the
//! sweep's UID filter, and `choose` on real directories.

use super::*;

#[test]
fn shm_is_used_only_when_a_tmpfs_of_at_least_one_gib() {
    let cases = [
        (TMPFS_MAGIC, 24 << 30, None),
        (TMPFS_MAGIC, 1 << 30, None),
        (
            TMPFS_MAGIC,
            64 << 20,
            Some("/dev/shm is smaller than 1 GiB"),
        ),
        (0xEF53, 100 << 30, Some("/dev/shm is not a tmpfs")),
    ];
    for (fs_type, size_bytes, want) in cases {
        let facts = ShmFacts {
            fs_type,
            size_bytes,
        };
        assert_eq!(shm_refusal(facts), want, "{facts:?}");
    }
}

#[test]
fn each_agent_gets_its_own_directory_name() {
    let a = default_dir_name("node-1", Path::new("/var/lib/skiff/a"));
    let b = default_dir_name("node-1", Path::new("/var/lib/skiff/b"));
    let c = default_dir_name("node-2", Path::new("/var/lib/skiff/a"));
    assert!(
        a.starts_with("skiff-node-1-") && a.len() == "skiff-node-1-".len() + 8,
        "{a}"
    );
    assert_ne!(a, b);
    assert_ne!(a, c);
    assert_eq!(a, default_dir_name("node-1", Path::new("/var/lib/skiff/a")));
}

#[test]
fn only_pod_uids_are_swept() {
    assert!(is_pod_uid("0f9c3a5e-1b2d-4c3e-8f4a-5b6c7d8e9f00"));
    for other in [
        "",
        "notes.txt",
        "default_web",
        "0F9C3A5E-1B2D-4C3E-8F4A-5B6C7D8E9F00",
        "0f9c3a5e-1b2d-4c3e-8f4a-5b6c7d8e9f0",
        "0f9c3a5e-1b2d-4c3e-8f4a-5b6c7d8e9f00-x",
        "0f9c3a5e1b2d4c3e8f4a5b6c7d8e9f00",
    ] {
        assert!(!is_pod_uid(other), "{other:?}");
    }
}

#[test]
fn the_flag_names_the_root_and_it_is_recorded_private() -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let data = scratch.path().join("data");
    let flag = scratch.path().join("volumes");
    let root = choose(&data, "node-1", Some(&flag))?;
    assert_eq!(root.as_deref(), Some(flag.as_path()));
    let mode = std::fs::metadata(&flag)?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let recorded = std::fs::read_to_string(data.join(RECORD_FILE))?;
    assert_eq!(recorded, flag.display().to_string());
    Ok(())
}

#[test]
fn a_flag_that_cannot_be_a_directory_is_an_error() -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let file = scratch.path().join("a-file");
    std::fs::write(&file, b"x")?;
    let err = choose(&scratch.path().join("data"), "node-1", Some(&file));
    assert!(matches!(err, Err(VolumeRootError::Flag { .. })), "{err:?}");
    Ok(())
}

/// The default on this host: under /dev/shm exactly when its statfs says it is fit.
#[test]
fn the_default_follows_what_dev_shm_is() -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let data = scratch.path().join("data");
    let root = choose(&data, "node-default", None)?;
    let fit = shm_facts(Path::new("/dev/shm")).is_ok_and(|f| shm_refusal(f).is_none());
    match &root {
        Some(dir) => {
            assert!(fit, "chose {} although /dev/shm is not fit", dir.display());
            let canonical = data.canonicalize()?;
            let want = Path::new("/dev/shm").join(default_dir_name("node-default", &canonical));
            assert_eq!(dir, &want);
            let owner = std::fs::read(dir.join(orphans::OWNER_FILE))?;
            assert_eq!(owner, canonical.as_os_str().as_encoded_bytes());
            std::fs::remove_dir_all(dir)?;
        }
        None => {
            assert!(!data.join(RECORD_FILE).exists());
        }
    }
    Ok(())
}
