//! The shared reads: one read for concurrent askers, found objects kept while fresh,
//! absent or unreadable ones read again by the next asker.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A short freshness, so the tests see entries go stale in real time.
const KEEP: Duration = Duration::from_millis(250);

/// A read that counts itself and answers `answer` after `delay`.
async fn counted(reads: &AtomicUsize, answer: Read<u32>, delay: Duration) -> Read<u32> {
    reads.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(delay).await;
    answer
}

#[tokio::test]
async fn concurrent_askers_share_one_read() {
    let shared = Shared::<u32>::default();
    let reads = &AtomicUsize::new(0);
    let ask = || {
        shared.get("ns", "cm", || {
            counted(reads, Ok(Some(7)), Duration::from_millis(50))
        })
    };
    let answers = futures::future::join_all((0..20).map(|_| ask())).await;
    assert!(answers.iter().all(|a| *a == Ok(Some(7))));
    assert_eq!(reads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_found_object_is_kept_while_fresh_then_read_again() {
    let shared = Shared::<u32>::keeping(KEEP);
    let reads = &AtomicUsize::new(0);
    let read = |v| {
        shared.get("ns", "cm", move || {
            counted(reads, Ok(Some(v)), Duration::ZERO)
        })
    };
    assert_eq!(read(1).await, Ok(Some(1)));
    assert_eq!(read(2).await, Ok(Some(1)), "fresh: the first read answers");
    tokio::time::sleep(KEEP).await;
    assert_eq!(read(3).await, Ok(Some(3)), "stale: read again");
    assert_eq!(reads.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn absent_and_unreadable_objects_are_read_again_at_once() {
    let shared = Shared::<u32>::default();
    let reads = &AtomicUsize::new(0);
    let read = |answer| shared.get("ns", "cm", move || counted(reads, answer, Duration::ZERO));
    assert_eq!(read(Ok(None)).await, Ok(None));
    assert_eq!(read(Err(())).await, Err(()));
    assert_eq!(
        read(Ok(Some(4))).await,
        Ok(Some(4)),
        "created since: seen at once"
    );
    assert_eq!(reads.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn objects_are_told_apart_by_namespace_and_name() {
    let shared = Shared::<u32>::default();
    let reads = &AtomicUsize::new(0);
    let read = |ns, name, v| {
        shared.get(ns, name, move || {
            counted(reads, Ok(Some(v)), Duration::ZERO)
        })
    };
    assert_eq!(read("a", "cm", 1).await, Ok(Some(1)));
    assert_eq!(read("b", "cm", 2).await, Ok(Some(2)));
    assert_eq!(read("a", "other", 3).await, Ok(Some(3)));
    assert_eq!(read("a", "cm", 4).await, Ok(Some(1)));
    assert_eq!(reads.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn stale_entries_are_swept_once_there_are_many() {
    let shared = Shared::<u32>::keeping(KEEP);
    let reads = &AtomicUsize::new(0);
    for i in 0..SWEEP_AT {
        let name = format!("cm-{i}");
        let got = shared
            .get("ns", &name, || counted(reads, Ok(Some(1)), Duration::ZERO))
            .await;
        assert_eq!(got, Ok(Some(1)));
    }
    tokio::time::sleep(KEEP).await;
    let got = shared
        .get("ns", "last", || counted(reads, Ok(Some(2)), Duration::ZERO))
        .await;
    assert_eq!(got, Ok(Some(2)));
    assert_eq!(skiff_sync::lock(&shared.entries).len(), 1);
}
