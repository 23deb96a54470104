//! Ending a call to the leader early when this replica learns of another leader.
//!
//! A write or read-index request forwarded to a leader that is paused (SIGSTOP) or cut off
//! gets no answer until the HTTP/2 keep-alive gives up on the connection, about 3 s. The
//! cluster elects a new leader well before that (issue 12 measured ~1.8 s), and this replica
//! hears of it from the new leader's first heartbeat. From then on waiting is pointless: the
//! old leader cannot commit anything in its old term without a quorum that now follows
//! another leader. So a forwarded call races [`another_leader`], and the caller reports the
//! outcome as unknown (a write may still have been replicated before the pause) or retries
//! (a read-index round changes nothing).

use openraft::async_runtime::WatchReceiver;

use super::Raft;
use skiff_store::types::NodeId;

/// Resolves once this replica's Raft node names a leader other than `leader`. Never resolves
/// while it names `leader` or none (an election in progress may re-elect `leader`), nor after
/// the node stops. Wakes only on server-state changes, not on every commit.
pub(crate) async fn another_leader(raft: &Raft, leader: NodeId) {
    let mut metrics = raft.server_metrics();
    loop {
        let current = metrics.borrow_watched().current_leader;
        if current.is_some_and(|id| id != leader) {
            return;
        }
        if metrics.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Runs `call` unless this replica first learns of a leader other than `leader`; `None` then.
pub(crate) async fn unless_leader_changes<T>(
    raft: &Raft,
    leader: Option<NodeId>,
    call: impl Future<Output = T>,
) -> Option<T> {
    let Some(leader) = leader else {
        return Some(call.await);
    };
    tokio::select! {
        answer = call => Some(answer),
        () = another_leader(raft, leader) => None,
    }
}
