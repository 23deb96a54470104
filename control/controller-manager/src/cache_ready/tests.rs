//! Cache readiness with many waiters: kube-runtime's own (which loses all but the last waiter,
//! the reason this module exists) and ours (which releases every one).

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::StreamExt;
use futures::task::{ArcWake, waker};
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};

use super::{ready_channel, signal_when_listed};

/// A waker that counts how often it was woken.
#[derive(Default)]
struct Wakes(AtomicUsize);

impl ArcWake for Wakes {
    fn wake_by_ref(me: &Arc<Self>) {
        me.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Wakes {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

fn pod(name: &str) -> Pod {
    let mut pod = Pod::default();
    pod.metadata.name = Some(name.to_owned());
    pod.metadata.namespace = Some("default".to_owned());
    pod
}

/// A reflector's first list: one pod.
fn first_list() -> impl futures::Stream<Item = Result<Event<Pod>, watcher::Error>> {
    futures::stream::iter([
        Ok(Event::Init),
        Ok(Event::InitApply(pod("a"))),
        Ok(Event::InitDone),
    ])
}

/// The defect worked around here, pinned down so that a kube-runtime that fixes it shows up:
/// two tasks wait for `Store::wait_until_ready`, the store becomes ready, and only the task
/// that polled last is woken. If this fails after a kube upgrade, `Store::wait_until_ready`
/// may be shared again and this module can go.
#[test]
#[allow(clippy::disallowed_methods)] // reason: it shows why the method is disallowed
fn kube_store_readiness_wakes_only_the_last_waiter() {
    let (store, mut writer) = reflector::store::<Pod>();
    let (first, second) = (Arc::new(Wakes::default()), Arc::new(Wakes::default()));
    let mut wait_first = pin!(store.wait_until_ready());
    let mut wait_second = pin!(store.wait_until_ready());
    let first_waker = waker(first.clone());
    let second_waker = waker(second.clone());
    let polled = wait_first
        .as_mut()
        .poll(&mut Context::from_waker(&first_waker));
    assert!(polled.is_pending());
    let polled = wait_second
        .as_mut()
        .poll(&mut Context::from_waker(&second_waker));
    assert!(polled.is_pending());
    writer.apply_watcher_event(&Event::Init);
    writer.apply_watcher_event(&Event::InitDone);
    assert_eq!(second.count(), 1, "the last task to poll is woken");
    assert_eq!(
        first.count(),
        0,
        "kube-runtime now wakes every waiter of Store::wait_until_ready"
    );
}

/// Every waiter, polled before the cache listed, is woken once it has, and then finds the
/// listed objects in the store.
#[test]
fn every_waiter_is_woken_when_the_cache_lists() {
    let (store, writer) = reflector::store::<Pod>();
    let (signal, ready) = ready_channel();
    let wakes: Vec<Arc<Wakes>> = (0..5).map(|_| Arc::default()).collect();
    let mut waits: Vec<_> = wakes.iter().map(|_| Box::pin(ready.wait())).collect();
    for (wait, wake) in waits.iter_mut().zip(&wakes) {
        let waker = waker(wake.clone());
        assert!(
            wait.as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
    }
    let events = signal_when_listed(reflector::reflector(writer, first_list()), signal);
    futures::executor::block_on(events.for_each(|_| async {}));
    for (wait, wake) in waits.iter_mut().zip(&wakes) {
        assert_eq!(wake.count(), 1, "every waiter is woken");
        let waker = waker(wake.clone());
        let polled = wait.as_mut().poll(&mut Context::from_waker(&waker));
        assert!(matches!(polled, Poll::Ready(Ok(()))));
    }
    assert!(store.get(&ObjectRef::new("a").within("default")).is_some());
}

/// Tasks of a real runtime, as reconciles are: all of them pass once the cache lists, and
/// each sees the listed pod.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reconciles_all_pass_the_gate() {
    let (store, writer) = reflector::store::<Pod>();
    let (signal, ready) = ready_channel();
    let waiters: Vec<_> = (0..8)
        .map(|_| {
            let (ready, store): (_, Store<Pod>) = (ready.clone(), store.clone());
            tokio::spawn(async move {
                ready
                    .wait()
                    .await
                    .map(|()| store.get(&ObjectRef::new("a").within("default")))
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let events = signal_when_listed(reflector::reflector(writer, first_list()), signal);
    events.for_each(|_| async {}).await;
    let all = tokio::time::timeout(Duration::from_secs(10), futures::future::join_all(waiters))
        .await
        .expect("every waiter passes the gate");
    for joined in all {
        let seen = joined.expect("the waiter ran").expect("the cache listed");
        assert!(
            seen.is_some(),
            "the pod is in the store when the gate opens"
        );
    }
}

/// A cache that stops before it lists releases its waiters with an error.
#[tokio::test]
async fn a_cache_stopped_before_listing_is_an_error() {
    let (signal, ready) = ready_channel();
    drop(signal);
    assert!(ready.wait().await.is_err());
}

/// Once listed, a cache stays ready even after its signal is gone (the term is ending).
#[tokio::test]
async fn a_listed_cache_stays_ready() {
    let (_store, writer) = reflector::store::<Pod>();
    let (signal, ready) = ready_channel();
    signal_when_listed(reflector::reflector(writer, first_list()), signal)
        .for_each(|_| async {})
        .await;
    assert!(ready.wait().await.is_ok());
}
