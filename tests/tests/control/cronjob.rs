//! The CronJob controller end to end (the timing rules are the table tests of
//! `skiff-controllers::cronjob`): a suspended CronJob whose last run is 150 s old starts the
//! missed run at once when resumed (named after its minute, scheduled in its time zone); its
//! Job completes and the status follows; the next run starts on the next minute by the
//! clock, and `successfulJobsHistoryLimit: 1` then deletes the first Job.

use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use skiff_tests::run_bounded;
use tokio_util::sync::CancellationToken;

use crate::agent_sim::{Manager, eventually, finishing_agent};
use crate::support::{create, one_replica};

const NS: &str = "cron";

#[test]
fn cronjob_catches_up_then_fires_on_the_minute() {
    run_bounded("cronjob", Duration::from_secs(150), scenario());
}

fn cronjob() -> serde_json::Value {
    json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
    "spec": {
        "schedule": "* * * * *", "timeZone": "Asia/Kolkata", "suspend": true,
        "successfulJobsHistoryLimit": 1,
        "jobTemplate": {"spec": {"template": {
            "metadata": {"labels": {"outcome": "succeed"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "job.wasm"}]}
        }}}
    }})
}

/// The minutes (since the epoch) of the CronJob's Jobs, oldest first.
async fn runs(client: &Client) -> anyhow::Result<Vec<i64>> {
    let jobs: Api<Job> = Api::namespaced(client.clone(), NS);
    let mut minutes: Vec<i64> = jobs
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .filter_map(|j| j.name_any().strip_prefix("tick-")?.parse().ok())
        .collect();
    minutes.sort_unstable();
    Ok(minutes)
}

async fn scenario() -> anyhow::Result<()> {
    let (_replica, client) = one_replica("cron").await?;
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}}))?;
    Api::<Namespace>::all(client.clone())
        .create(&Default::default(), &ns)
        .await?;
    let manager = Manager::start(&client);
    let stop = CancellationToken::new();
    let agent = finishing_agent(&client, NS, stop.clone());
    let cjs: Api<CronJob> = Api::namespaced(client.clone(), NS);
    create::<CronJob>(&client, NS, cronjob()).await?;
    let resumed = Timestamp::now().as_second();
    let old = Timestamp::from_second(resumed - 150)?.to_string();
    let patch = json!({"status": {"lastScheduleTime": old}});
    cjs.patch_status("tick", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let patch = json!({"spec": {"suspend": false}});
    cjs.patch("tick", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let first = caught_up(&client, &cjs, resumed).await?;
    eventually(
        "the first run complete",
        Duration::from_secs(20),
        || async {
            let s = cjs.get("tick").await?.status.unwrap_or_default();
            Ok(s.active.unwrap_or_default().is_empty() && s.last_successful_time.is_some())
        },
    )
    .await?;
    // The next run starts on the next minute by the clock.
    eventually(
        "the next run on the minute",
        Duration::from_secs(75),
        || async { Ok(runs(&client).await?.iter().any(|m| *m > first)) },
    )
    .await?;
    let next = runs(&client)
        .await?
        .into_iter()
        .find(|m| *m > first)
        .unwrap_or(0);
    let job = Api::<Job>::namespaced(client.clone(), NS)
        .get(&format!("tick-{next}"))
        .await?;
    let created = job.metadata.creation_timestamp.map(|t| t.0.as_second());
    let late = created.map(|c| c - next * 60);
    anyhow::ensure!(
        late.is_some_and(|l| (0..=3).contains(&l)),
        "the run of minute {next} started {late:?} s after it"
    );
    eventually(
        "history limited to one Job",
        Duration::from_secs(20),
        || async { Ok(runs(&client).await? == [next]) },
    )
    .await?;
    stop.cancel();
    agent.await?;
    manager.stop().await
}

/// Waits for the run that the resumed CronJob missed; checks its name, zone and the status.
async fn caught_up(client: &Client, cjs: &Api<CronJob>, resumed: i64) -> anyhow::Result<i64> {
    eventually(
        "the missed run started",
        Duration::from_secs(10),
        || async { Ok(!runs(client).await?.is_empty()) },
    )
    .await?;
    let first = runs(client).await?[0];
    anyhow::ensure!(
        (resumed - 150) / 60 <= first && first * 60 <= Timestamp::now().as_second(),
        "started the run of minute {first}, resumed at {resumed}"
    );
    let job = Api::<Job>::namespaced(client.clone(), NS)
        .get(&format!("tick-{first}"))
        .await?;
    let scheduled = job
        .annotations()
        .get("batch.kubernetes.io/cronjob-scheduled-timestamp")
        .cloned()
        .unwrap_or_default();
    anyhow::ensure!(
        scheduled.ends_with("+05:30"),
        "scheduled-timestamp {scheduled:?} is not in Asia/Kolkata"
    );
    anyhow::ensure!(
        job.owner_references()
            .iter()
            .any(|o| o.kind == "CronJob" && o.controller == Some(true)),
        "the Job is not controlled by its CronJob"
    );
    // The status follows the Job's creation.
    eventually(
        "lastScheduleTime at the run",
        Duration::from_secs(10),
        || async {
            let status = cjs.get("tick").await?.status.unwrap_or_default();
            let last = status.last_schedule_time.map(|t| t.0.as_second());
            let active = status.active.unwrap_or_default();
            Ok(last == Some(first * 60) && active.iter().all(|r| r.uid.is_some()))
        },
    )
    .await?;
    Ok(first)
}
