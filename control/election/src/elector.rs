//! The election loop: every `retry_period` read the Lease, decide, and write it if this
//! candidate renews or acquires it; publish on a watch channel whether it leads.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::{Client, Error};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::decide::{Step, decide};

/// Where the Lease is and how it is held. Defaults are kube-scheduler's: 15 s lease, 10 s
/// renew deadline, 2 s retry period.
#[derive(Clone, Debug)]
pub struct ElectorConfig {
    pub namespace: String,
    pub name: String,
    /// This candidate's name in `holderIdentity` (unique per candidate).
    pub identity: String,
    pub lease_duration: Duration,
    /// A holder that has not renewed for this long stops leading (shorter than the lease).
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

impl ElectorConfig {
    pub fn new(namespace: &str, name: &str, identity: &str) -> Self {
        ElectorConfig {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            identity: identity.to_owned(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// One candidate. `run` drives it; the receiver from `new` says whether it leads.
pub struct Elector {
    api: Api<Lease>,
    config: ElectorConfig,
    leading: watch::Sender<bool>,
}

impl Elector {
    pub fn new(client: Client, config: ElectorConfig) -> (Elector, watch::Receiver<bool>) {
        let (leading, receiver) = watch::channel(false);
        let api = Api::namespaced(client, &config.namespace);
        (
            Elector {
                api,
                config,
                leading,
            },
            receiver,
        )
    }

    /// Campaigns and renews until `shutdown`; then stops leading (publishing `false` first)
    /// and releases the Lease if it held it, so another candidate need not wait for it to
    /// expire.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut renewed_at: Option<Instant> = None;
        loop {
            match self.attempt().await {
                Ok(true) => renewed_at = Some(Instant::now()),
                Ok(false) => renewed_at = None,
                Err(e) => {
                    tracing::warn!(lease = %self.config.name, "lease: {e}");
                    if renewed_at.is_some_and(|t| t.elapsed() >= self.config.renew_deadline) {
                        renewed_at = None;
                    }
                }
            }
            self.publish(renewed_at.is_some());
            tokio::select! {
                () = tokio::time::sleep(self.config.retry_period) => {}
                () = shutdown.cancelled() => break,
            }
        }
        let held = *self.leading.borrow();
        self.publish(false);
        if held && let Err(e) = self.release().await {
            tracing::debug!(lease = %self.config.name, "releasing the lease: {e}");
        }
    }

    fn publish(&self, leading: bool) {
        self.leading.send_if_modified(|current| {
            let changed = *current != leading;
            if changed {
                tracing::info!(lease = %self.config.name, identity = %self.config.identity, leading, "lease");
            }
            *current = leading;
            changed
        });
    }

    /// One read and, if due, one write. `Ok(true)`: this candidate holds the Lease now.
    async fn attempt(&self) -> Result<bool, Error> {
        let name = &self.config.name;
        let Some(mut lease) = self.api.get_opt(name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.acquired(None)),
            };
            return lost_race_is_false(self.api.create(&PostParams::default(), &lease).await);
        };
        let now = Timestamp::now();
        let spec = match decide(
            lease.spec.as_ref(),
            &self.config.identity,
            now,
            self.config.lease_duration,
        ) {
            Step::Wait { .. } => return Ok(false),
            Step::Renew => {
                let mut spec = lease.spec.take().unwrap_or_default();
                spec.renew_time = Some(MicroTime(now));
                spec.lease_duration_seconds = Some(self.duration_seconds());
                spec
            }
            Step::Acquire => self.acquired(lease.spec.take()),
        };
        lease.spec = Some(spec);
        // `replace` sends the resourceVersion read above: a concurrent writer makes it 409.
        lost_race_is_false(self.api.replace(name, &PostParams::default(), &lease).await)
    }

    /// The spec of a Lease this candidate takes over from `previous`.
    fn acquired(&self, previous: Option<LeaseSpec>) -> LeaseSpec {
        let now = MicroTime(Timestamp::now());
        let transitions = previous.and_then(|p| p.lease_transitions).unwrap_or(0);
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(self.duration_seconds()),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            lease_transitions: Some(transitions + 1),
            ..LeaseSpec::default()
        }
    }

    fn duration_seconds(&self) -> i32 {
        i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(i32::MAX)
    }

    /// Gives the Lease up: no holder, so the next candidate acquires it at once.
    async fn release(&self) -> Result<(), Error> {
        let mut lease = self.api.get(&self.config.name).await?;
        if let Some(spec) = lease.spec.as_mut()
            && spec.holder_identity.as_deref() == Some(self.config.identity.as_str())
        {
            spec.holder_identity = None;
            self.api
                .replace(&self.config.name, &PostParams::default(), &lease)
                .await?;
        }
        Ok(())
    }
}

/// A write that lost to a concurrent one (409 Conflict, or 409 AlreadyExists on create) means
/// another candidate holds the Lease.
fn lost_race_is_false(result: Result<Lease, Error>) -> Result<bool, Error> {
    match result {
        Ok(_) => Ok(true),
        Err(Error::Api(status)) if status.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}
