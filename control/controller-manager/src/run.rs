//! [`run`]: the leadership loop. One term of leadership starts every cache and controller in
//! one `JoinSet`; losing the Lease (or shutdown) cancels the term and awaits every task
//! before this replica could act again.

use futures::FutureExt;
use kube::Client;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::context::ManagerConfig;
use crate::error::ManagerError;
use crate::term::start_term;

/// Runs the controllers while `leading` is true, stops them (cancelled and awaited) as soon
/// as it turns false, starts them again when it turns true again, and returns on `shutdown`
/// once every task it started has ended.
pub async fn run(
    client: Client,
    mut leading: watch::Receiver<bool>,
    shutdown: CancellationToken,
    config: ManagerConfig,
) -> Result<(), ManagerError> {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            led = leading.wait_for(|l| *l).map(|r| r.is_ok()) => {
                if !led {
                    // The elector is gone: this replica never leads again.
                    shutdown.cancelled().await;
                    return Ok(());
                }
            }
        }
        tracing::info!("controller-manager: leading, starting the controllers");
        let term = CancellationToken::new();
        let mut tasks = JoinSet::new();
        start_term(&mut tasks, &client, &config, &term);
        tokio::select! {
            () = shutdown.cancelled() => {}
            // An error means the elector is gone: stop acting as well.
            _ = leading.wait_for(|l| !*l).map(|r| r.is_ok()) => {}
        }
        term.cancel();
        let ended = end_term(tasks).await;
        config.metrics.term_ended();
        tracing::info!("controller-manager: stopped the controllers");
        ended?;
        if shutdown.is_cancelled() {
            return Ok(());
        }
    }
}

/// Awaits every task of a cancelled term; the first that panicked is the error.
async fn end_term(mut tasks: JoinSet<&'static str>) -> Result<(), ManagerError> {
    let mut panicked = None;
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined {
            panicked.get_or_insert(ManagerError::TaskPanicked {
                what: e.to_string(),
            });
        }
    }
    panicked.map_or(Ok(()), Err)
}
