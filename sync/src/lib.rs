//! One way to lock a std `Mutex` or `RwLock` in skiff: [`lock`], [`read`] and [`write`], which
//! recover from poisoning.
//!
//! A lock is poisoned when a thread panicked while holding it. skiff holds std locks only for
//! short critical sections with no `.await`, written so that a panic inside one leaves the data
//! usable (a cache, a counter, a queue, a pool of idle connections, a latest value), and the
//! panic reports itself: the task or thread that panicked ends with it. Refusing the lock
//! afterwards would only turn one failure into many, as every later caller would fail too. So
//! skiff takes the guard out of the poison error, and says why once, here. A lock whose data a
//! panic could leave half-updated must not use these helpers; it has to decide for itself.
//! `.clippy.toml` disallows `Mutex::lock`, `RwLock::read` and `RwLock::write`, so every caller
//! comes through these functions.

#![deny(unreachable_pub)]

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `mutex`, taking the guard even if another thread panicked while holding it.
#[allow(
    clippy::disallowed_methods,
    reason = "the one place that calls Mutex::lock; every other caller comes here"
)]
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Locks `lock` for reading, even if a writer panicked while holding it.
#[allow(
    clippy::disallowed_methods,
    reason = "the one place that calls RwLock::read; every other caller comes here"
)]
pub fn read<T: ?Sized>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// Locks `lock` for writing, even if a writer panicked while holding it.
#[allow(
    clippy::disallowed_methods,
    reason = "the one place that calls RwLock::write; every other caller comes here"
)]
pub fn write<T: ?Sized>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_mutex_still_locks() {
        let mutex = std::sync::Arc::new(Mutex::new(1));
        let held = mutex.clone();
        let panicked = std::thread::spawn(move || {
            let _guard = lock(&held);
            panic!("poison the mutex");
        })
        .join();
        assert!(panicked.is_err());
        assert!(mutex.is_poisoned());
        *lock(&mutex) += 1;
        assert_eq!(*lock(&mutex), 2);
    }
}
