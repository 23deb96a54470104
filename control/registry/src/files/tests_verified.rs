//! Which files count as verified, on a real directory: a written or checked file does until
//! anything changes it; the scrub re-hashes files and removes the damaged ones, including
//! damage that the file metadata does not show.

use std::time::Duration;

use super::*;

fn store() -> (tempfile::TempDir, BlobFiles) {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = BlobFiles::open(dir.path()).expect("open");
    (dir, files)
}

/// Longer than one tick of the kernel's coarse clock (at most 10 ms, HZ=100), which file
/// times are taken from: a change after this sleep has a later change time.
fn next_clock_tick() {
    std::thread::sleep(Duration::from_millis(20));
}

fn is_verified(files: &BlobFiles, digest: &Digest) -> bool {
    files.open_verified(digest).expect("open").is_some()
}

#[test]
fn a_written_file_is_verified_until_anything_changes_it() {
    let (_dir, files) = store();
    let bytes = vec![3u8; 200_000];
    let digest = Digest::of(&bytes);
    let path = files.path(digest.hex());
    type Change = fn(&Path, &[u8]);
    let changes: [(&str, Change); 4] = [
        ("rewritten with the same bytes", |path, bytes| {
            fs::write(path, bytes).unwrap()
        }),
        ("touched", |path, _| {
            let file = File::options().write(true).open(path).unwrap();
            file.set_modified(SystemTime::now()).unwrap();
        }),
        ("chmod", |path, _| {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
        }),
        ("replaced by a copy", |path, bytes| {
            let copy = path.with_extension("copy");
            fs::write(&copy, bytes).unwrap();
            fs::rename(&copy, path).unwrap();
        }),
    ];
    files.write(&digest, &bytes).expect("write");
    for (what, change) in changes {
        let (file, size) = files.open_verified(&digest).unwrap().expect("verified");
        assert_eq!(size, bytes.len() as u64);
        assert_eq!(file.metadata().unwrap().len(), size);
        next_clock_tick();
        change(&path, &bytes);
        assert!(!is_verified(&files, &digest), "{what}: checked again");
        assert_eq!(files.read(&digest).unwrap().as_deref(), Some(&bytes[..]));
        assert!(is_verified(&files, &digest), "{what}: a read checked it");
    }
    files.remove(digest.hex()).unwrap();
    assert!(!is_verified(&files, &digest), "removed");
}

#[test]
fn a_file_this_process_never_checked_is_not_verified_until_read() {
    let (dir, files) = store();
    let digest = Digest::of(b"from before a restart");
    files.write(&digest, b"from before a restart").unwrap();
    let reopened = BlobFiles::open(dir.path()).expect("reopen");
    assert!(!is_verified(&reopened, &digest));
    assert!(reopened.read(&digest).unwrap().is_some());
    assert!(is_verified(&reopened, &digest));
    let missing = Digest::of(b"never written");
    assert!(!is_verified(&reopened, &missing));
}

#[test]
fn a_damaged_file_read_is_forgotten_and_removed() {
    let (_dir, files) = store();
    let bytes = vec![9u8; 50_000];
    let digest = Digest::of(&bytes);
    files.write(&digest, &bytes).unwrap();
    next_clock_tick();
    fs::write(files.path(digest.hex()), vec![8u8; 50_000]).unwrap();
    assert!(!is_verified(&files, &digest), "the write changed it");
    assert_eq!(files.read(&digest).unwrap(), None);
    assert!(!files.contains(digest.hex()));
}

/// Damage the metadata does not show (bit rot; here: recorded as if the damaged file had been
/// checked) is served by `open_verified` until the scrub hashes the file and removes it.
#[test]
fn the_scrub_removes_damage_that_the_metadata_does_not_show() {
    let (_dir, files) = store();
    let bytes = vec![5u8; 80_000];
    let digest = Digest::of(&bytes);
    files.write(&digest, &bytes).unwrap();
    let path = files.path(digest.hex());
    fs::write(&path, vec![6u8; 80_000]).unwrap();
    let rotted = FileIdentity::of(&fs::metadata(&path).unwrap());
    files.verified().record(digest.hex(), rotted);
    assert!(is_verified(&files, &digest), "the metadata cannot tell");

    let hour = Duration::from_secs(3_600);
    let none_due = files.scrub(hour, u64::MAX).unwrap();
    assert_eq!(none_due, Scrubbed::default(), "checked just now: not due");
    let scrubbed = files.scrub(Duration::ZERO, u64::MAX).unwrap();
    assert_eq!(scrubbed.removed, 1);
    assert!(!path.exists(), "the damaged file is gone");
    assert!(!is_verified(&files, &digest));
}

#[test]
fn the_scrub_checks_each_unchecked_file_once_within_its_budget() {
    let (dir, files) = store();
    let (a, b) = (vec![1u8; 1_000], vec![2u8; 1_000]);
    files.write(&Digest::of(&a), &a).unwrap();
    files.write(&Digest::of(&b), &b).unwrap();
    let reopened = BlobFiles::open(dir.path()).unwrap();
    let hour = Duration::from_secs(3_600);
    for pass in 0..2 {
        let scrubbed = reopened.scrub(hour, 1).unwrap();
        assert_eq!(
            scrubbed.checked, 1,
            "pass {pass}: one file, even past the budget"
        );
    }
    assert!(is_verified(&reopened, &Digest::of(&a)));
    assert!(is_verified(&reopened, &Digest::of(&b)));
    assert_eq!(reopened.scrub(hour, u64::MAX).unwrap(), Scrubbed::default());
    let all = reopened.scrub(Duration::ZERO, u64::MAX).unwrap();
    assert_eq!((all.checked, all.removed), (2, 0));
}
