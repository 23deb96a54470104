//! Tests of the MVCC tables, reads at a revision, compaction and watch replay, driven directly
//! (no Raft) on a temporary redb file.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use openraft::EntryPayload;
use redb::Database;

use super::mvcc::Mvcc;
use super::read::{ListOptions, ReadError};
use super::types::{EventKind, FailureReason, Op, Request, Response, Txn, TypeConfig};
use super::watch::{Published, WatchError, WatchHub};

type Entry = openraft::alias::EntryOf<TypeConfig>;

mod restore;

struct Fixture {
    dir: tempfile::TempDir,
    mvcc: Mvcc,
    hub: WatchHub,
    next_index: AtomicU64,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("state.redb")).unwrap();
        Fixture {
            mvcc: Mvcc::open(Arc::new(db)).unwrap(),
            dir,
            hub: WatchHub::default(),
            next_index: AtomicU64::new(1),
        }
    }

    /// Drops the handle and opens the file again, rebuilding the index.
    fn reopen(self) -> Self {
        let Fixture { dir, mvcc, hub, .. } = self;
        let applied = mvcc.index().applied.map_or(0, |id| id.index);
        drop(mvcc);
        let db = Database::open(dir.path().join("state.redb")).unwrap();
        Fixture {
            mvcc: Mvcc::open(Arc::new(db)).unwrap(),
            dir,
            hub,
            next_index: AtomicU64::new(applied + 1),
        }
    }

    fn run(&self, request: Request) -> Response {
        let index = self.next_index.fetch_add(1, Ordering::Relaxed);
        let entry = Entry {
            log_id: openraft::testing::log_id::<TypeConfig>(1, 1, index),
            payload: EntryPayload::Normal(request),
        };
        let (mut responses, events) = self.mvcc.apply_entries(&[entry], false).unwrap();
        if !events.is_empty() {
            self.hub.publish(Published::Events(Arc::new(events)));
        }
        responses.pop().unwrap()
    }

    fn apply(&self, ops: Vec<Op>) -> Response {
        self.run(Request::Txn(Txn { ops }))
    }

    fn compact(&self, revision: u64) -> u64 {
        match self.run(Request::Compact { revision }) {
            Response::Compacted { revision } => revision,
            other => panic!("expected a compaction, got {other:?}"),
        }
    }

    /// (key, value) of every key under `prefix` as of `revision` (default: now).
    fn values(&self, prefix: &str, revision: Option<u64>) -> Vec<(String, String)> {
        let options = ListOptions {
            revision,
            ..Default::default()
        };
        let page = self.mvcc.list(prefix, &options).unwrap();
        page.kvs
            .into_iter()
            .map(|kv| (kv.key, String::from_utf8(kv.value).unwrap()))
            .collect()
    }

    fn revision_of(response: Response) -> u64 {
        match response {
            Response::Committed { revision, .. } => revision,
            other => panic!("expected a commit, got {other:?}"),
        }
    }
}

#[test]
fn create_update_delete_follow_their_preconditions() {
    let f = Fixture::new();
    assert_eq!(
        Fixture::revision_of(f.apply(vec![Op::create("/a", "1")])),
        1
    );
    let Response::Failed(fail) = f.apply(vec![Op::create("/a", "2")]) else {
        panic!()
    };
    assert_eq!(fail.reason, FailureReason::AlreadyExists);
    assert_eq!(
        fail.revision, 1,
        "a failed transaction consumes no revision"
    );

    let Response::Failed(fail) = f.apply(vec![Op::update("/a", "2", 7)]) else {
        panic!()
    };
    assert_eq!(
        fail.reason,
        FailureReason::RevisionMismatch { current: Some(1) }
    );
    assert_eq!(
        Fixture::revision_of(f.apply(vec![Op::update("/a", "2", 1)])),
        2
    );

    let (kv, rev) = f.mvcc.get("/a", None).unwrap();
    let kv = kv.unwrap();
    assert_eq!(
        (
            kv.value.as_slice(),
            kv.create_revision,
            kv.mod_revision,
            kv.version,
            rev
        ),
        (&b"2"[..], 1, 2, 2, 2)
    );

    let Response::Failed(fail) = f.apply(vec![Op::delete("/missing")]) else {
        panic!()
    };
    assert_eq!(fail.reason, FailureReason::NotFound);
    // All-or-nothing: the second op fails, so the first is not applied either.
    let Response::Failed(_) = f.apply(vec![Op::create("/b", "x"), Op::delete_at("/a", 1)]) else {
        panic!()
    };
    assert_eq!(f.mvcc.get("/b", None).unwrap().0, None);
    let Response::Committed { prev, .. } = f.apply(vec![Op::delete_at("/a", 2)]) else {
        panic!()
    };
    assert_eq!(prev[0].as_ref().unwrap().value, b"2");
    assert_eq!(f.mvcc.get("/a", None).unwrap(), (None, 3));
}

#[test]
fn reads_at_past_revisions_see_the_state_of_then() {
    let f = Fixture::new();
    f.apply(vec![Op::create("/p/a", "a1"), Op::create("/p/b", "b1")]); // 1
    f.apply(vec![Op::put("/p/a", "a2")]); // 2
    f.apply(vec![Op::delete("/p/b")]); // 3
    f.apply(vec![Op::create("/p/c", "c1"), Op::create("/q/x", "x")]); // 4

    let values = |rev: Option<u64>| f.values("/p/", rev);
    let pairs = |v: &[(&str, &str)]| {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(values(Some(1)), pairs(&[("/p/a", "a1"), ("/p/b", "b1")]));
    assert_eq!(values(Some(2)), pairs(&[("/p/a", "a2"), ("/p/b", "b1")]));
    assert_eq!(values(Some(3)), pairs(&[("/p/a", "a2")]));
    assert_eq!(values(None), pairs(&[("/p/a", "a2"), ("/p/c", "c1")]));
    assert_eq!(f.mvcc.get("/p/b", Some(2)).unwrap().0.unwrap().value, b"b1");

    // Pagination: one key per page, continuing after the last key, at a fixed revision.
    let first = f
        .mvcc
        .list(
            "/p/",
            &ListOptions {
                revision: Some(2),
                limit: Some(1),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!((first.kvs.len(), first.more), (1, true));
    let options = ListOptions {
        revision: Some(2),
        limit: Some(1),
        start_after: Some(first.kvs[0].key.clone()),
    };
    let second = f.mvcc.list("/p/", &options).unwrap();
    assert_eq!((second.kvs[0].key.as_str(), second.more), ("/p/b", false));

    assert!(matches!(
        f.mvcc.get("/p/a", Some(9)),
        Err(ReadError::Future {
            requested: 9,
            current: 4
        })
    ));
}

#[test]
fn compaction_keeps_what_later_reads_need_and_expires_the_rest() {
    let f = Fixture::new();
    f.apply(vec![Op::create("/k/a", "a1")]); // 1
    f.apply(vec![Op::create("/k/b", "b1")]); // 2
    f.apply(vec![Op::put("/k/a", "a2")]); // 3
    f.apply(vec![Op::delete("/k/b")]); // 4
    f.apply(vec![Op::put("/k/c", "c1")]); // 5
    assert_eq!(f.compact(4), 4);

    // Reads at or after the compacted revision still see the right state.
    let at4 = f
        .mvcc
        .list(
            "/k/",
            &ListOptions {
                revision: Some(4),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        at4.kvs.iter().map(|kv| kv.key.as_str()).collect::<Vec<_>>(),
        ["/k/a"]
    );
    assert!(matches!(
        f.mvcc.get("/k/a", Some(3)),
        Err(ReadError::Compacted {
            requested: 3,
            compacted: 4
        })
    ));

    // A watch from before the window is refused; one from the window's edge sees only later events.
    assert!(matches!(
        f.hub.watch(f.mvcc.clone(), "/k/".into(), 3),
        Err(WatchError::Expired { compacted: 4, .. })
    ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut watcher = f.hub.watch(f.mvcc.clone(), "/k/".into(), 4).unwrap();
        let event = watcher.next().await.unwrap();
        assert_eq!((event.revision(), event.kv.key.as_str()), (5, "/k/c"));
    });
    assert_eq!(f.compact(2), 4, "compaction never goes backwards");
}

#[test]
fn watch_replays_history_then_follows_live_events_once_in_order() {
    let f = Fixture::new();
    for i in 0..50 {
        f.apply(vec![Op::put(format!("/w/{}", i % 7), format!("v{i}"))]);
        f.apply(vec![Op::put(format!("/other/{i}"), "x")]);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut watcher = f.hub.watch(f.mvcc.clone(), "/w/".into(), 10).unwrap();
        let mut seen = Vec::new();
        while seen.len() < 45 {
            seen.push(watcher.next().await.unwrap());
        }
        // Live writes after the replay started.
        f.apply(vec![Op::delete("/w/3")]);
        f.apply(vec![Op::put("/other/z", "x")]);
        f.apply(vec![Op::put("/w/new", "n")]);
        seen.push(watcher.next().await.unwrap());
        seen.push(watcher.next().await.unwrap());

        let revisions: Vec<u64> = seen.iter().map(|e| e.revision()).collect();
        let expected: Vec<u64> = (11..=99).step_by(2).chain([101, 103]).collect();
        assert_eq!(
            revisions, expected,
            "every matching revision after 10, once, in order"
        );
        let delete = &seen[45];
        assert_eq!(
            (delete.kind, delete.kv.key.as_str()),
            (EventKind::Delete, "/w/3")
        );
        assert!(delete.prev.is_some(), "a delete carries the last value");
        assert_eq!(watcher.revision(), 103);
    });
}
