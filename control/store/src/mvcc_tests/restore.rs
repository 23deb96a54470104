//! Tests of what rebuilds the in-memory index: reopening the file, installing a snapshot, and
//! refusing a file in the older layout.

use std::sync::Arc;

use redb::{Database, ReadableDatabase, TableDefinition};

use super::Fixture;
use crate::mvcc::{Mvcc, MvccError};
use crate::read::ReadError;
use crate::snapshot;
use crate::types::Op;

#[test]
fn reopening_rebuilds_current_and_past_state() {
    let f = Fixture::new();
    f.apply(vec![Op::create("/r/a", "a1"), Op::create("/r/b", "b1")]); // 1
    f.apply(vec![Op::put("/r/a", "a2")]); // 2
    f.apply(vec![Op::delete("/r/b")]); // 3
    f.apply(vec![Op::put("/r/c", "c1")]); // 4
    f.compact(2);
    let before_now = f.values("/r/", None);
    let before_at2 = f.values("/r/", Some(2));

    let f = f.reopen();
    assert_eq!(f.mvcc.revision(), 4);
    assert_eq!(f.values("/r/", None), before_now);
    assert_eq!(f.values("/r/", Some(2)), before_at2);
    assert!(matches!(
        f.mvcc.get("/r/a", Some(1)),
        Err(ReadError::Compacted { compacted: 2, .. })
    ));
    let (kv, _) = f.mvcc.get("/r/a", None).unwrap();
    let kv = kv.unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (1, 2, 2));
    // Writes after the reopen continue from the stored revision and the rebuilt current values.
    assert_eq!(
        Fixture::revision_of(f.apply(vec![Op::update("/r/a", "a3", 2)])),
        5
    );
}

#[test]
fn a_snapshot_installs_every_key_including_those_sharing_a_revision() {
    let source = Fixture::new();
    // "/s/a" and "/s/z" share revision 1, and "/s/m" sits between them in key order.
    source.apply(vec![Op::create("/s/a", "a"), Op::create("/s/z", "z")]); // 1
    source.apply(vec![Op::create("/s/m", "m")]); // 2
    source.apply(vec![Op::put("/s/m", "m2")]); // 3
    let (meta, data) = snapshot::encode_from(&source.mvcc);
    assert_eq!(meta.last_log_id.map(|id| id.index), Some(3));

    let target = Fixture::new();
    target.apply(vec![Op::create("/s/old", "gone")]);
    let payload = snapshot::decode(&data).unwrap();
    snapshot::install(&target.mvcc, &meta, payload).unwrap();
    let expected = source.values("/s/", None);
    assert_eq!(expected.len(), 3);
    assert_eq!(target.values("/s/", None), expected);
    assert!(matches!(
        target.mvcc.get("/s/m", Some(2)),
        Err(ReadError::Compacted { compacted: 3, .. })
    ));
    // The installed state survives a reopen, and writes continue after the snapshot's revision.
    let target = target.reopen();
    assert_eq!(target.values("/s/", None), expected);
    assert_eq!(
        Fixture::revision_of(target.apply(vec![Op::put("/s/a", "a2")])),
        4
    );
}

#[test]
fn a_file_in_the_older_layout_is_refused_not_reset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    {
        // What layout 1 left behind: `kv` and `meta` with a revision, and no layout record.
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let kv: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");
            txn.open_table(kv).unwrap().insert("/x", &b"1"[..]).unwrap();
            let mut meta = txn.open_table(crate::mvcc::META).unwrap();
            crate::mvcc::write_u64(&mut meta, "revision", 7).unwrap();
        }
        txn.commit().unwrap();
    }
    let db = Database::open(&path).unwrap();
    let err = Mvcc::open(Arc::new(db))
        .err()
        .expect("an old layout is refused");
    assert!(matches!(err, MvccError::Layout { found: 1 }), "{err}");
    assert!(err.to_string().contains("older skiff"), "{err}");

    // Nothing was written: the old tables are as they were and no new one appeared.
    let db = Database::open(&path).unwrap();
    let txn = db.begin_read().unwrap();
    let kv: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");
    let value = txn.open_table(kv).unwrap().get("/x").unwrap().unwrap();
    assert_eq!(value.value(), b"1");
    let meta = txn.open_table(crate::mvcc::META).unwrap();
    assert_eq!(crate::mvcc::read_u64(&meta, "revision").unwrap(), 7);
    assert!(txn.open_table(crate::mvcc::REVISIONS).is_err());
}

#[test]
fn compacted_versions_leave_redb_with_later_writes_and_survive_a_reopen_harmlessly() {
    use redb::ReadableDatabase;
    let stored = |f: &Fixture| -> u64 {
        let txn = f.mvcc.db.begin_read().unwrap();
        let table = txn.open_table(crate::mvcc::REVISIONS).unwrap();
        redb::ReadableTableMetadata::len(&table).unwrap()
    };
    let f = Fixture::new();
    for i in 0..200 {
        f.apply(vec![Op::put(format!("/c/{}", i % 10), format!("v{i}"))]); // 1..=200
    }
    f.apply(vec![Op::delete("/c/0")]); // 201
    assert_eq!(stored(&f), 201);
    assert_eq!(f.compact(201), 201);
    // The window moved at once; the versions are still in the file.
    assert!(matches!(
        f.mvcc.get("/c/1", Some(200)),
        Err(ReadError::Compacted { .. })
    ));
    assert_eq!(stored(&f), 201);

    // A reopen before they are deleted answers exactly as before.
    let before = f.values("/c/", None);
    let f = f.reopen();
    assert_eq!(f.values("/c/", None), before);
    assert_eq!(f.mvcc.get("/c/0", None).unwrap().0, None);

    // The next compaction drops them again, and writes delete them from redb batch by batch.
    f.apply(vec![Op::put("/c/x", "x")]); // 202
    assert_eq!(f.compact(202), 202);
    for i in 0..10 {
        f.apply(vec![Op::put(format!("/d/{i}"), "d")]);
    }
    // Left: the 9 live versions of /c/1..=9, /c/x, and the 10 /d/ writes.
    assert_eq!(stored(&f), 20);
    assert_eq!(f.values("/c/", None).len(), 10);
}
