//! What a candidate does with the Lease it read: renew it (it holds it), acquire it (free or
//! expired), or wait (someone else holds it and renewed it recently).

use std::time::Duration;

use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::jiff::Timestamp;

/// The next write a candidate makes, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// This candidate holds the Lease: write a new `renewTime`.
    Renew,
    /// The Lease is free or expired: take it (a new `acquireTime`, one more transition).
    Acquire,
    /// Another holder renewed it recently: wait until at least `until`.
    Wait { holder: String, until: Timestamp },
}

/// The step for candidate `me` at `now`, given the Lease's spec (`None`: no Lease yet). A
/// Lease without a duration counts as expiring after `default_duration`.
pub fn decide(
    spec: Option<&LeaseSpec>,
    me: &str,
    now: Timestamp,
    default_duration: Duration,
) -> Step {
    let Some(spec) = spec else {
        return Step::Acquire;
    };
    let holder = spec.holder_identity.as_deref().unwrap_or("");
    if holder.is_empty() {
        return Step::Acquire;
    }
    if holder == me {
        return Step::Renew;
    }
    let duration = spec
        .lease_duration_seconds
        .and_then(|s| u64::try_from(s).ok())
        .map_or(default_duration, Duration::from_secs);
    let renewed = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .map(|t| t.0);
    let Some(renewed) = renewed else {
        return Step::Acquire;
    };
    let until = renewed.checked_add(duration).unwrap_or(Timestamp::MAX);
    if now >= until {
        Step::Acquire
    } else {
        Step::Wait {
            holder: holder.to_owned(),
            until,
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).expect("a valid time")
    }

    fn lease(holder: &str, renewed: Option<i64>, duration: Option<i32>) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            renew_time: renewed.map(|s| MicroTime(at(s))),
            lease_duration_seconds: duration,
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn steps_by_table() {
        let d = Duration::from_secs(15);
        let wait = |holder: &str, until: i64| Step::Wait {
            holder: holder.into(),
            until: at(until),
        };
        let table: [(&str, Option<LeaseSpec>, i64, Step); 7] = [
            ("no lease", None, 0, Step::Acquire),
            (
                "no holder",
                Some(lease("", Some(0), Some(15))),
                1,
                Step::Acquire,
            ),
            (
                "mine",
                Some(lease("me", Some(0), Some(15))),
                100,
                Step::Renew,
            ),
            (
                "theirs, fresh",
                Some(lease("b", Some(0), Some(15))),
                14,
                wait("b", 15),
            ),
            (
                "theirs, expired",
                Some(lease("b", Some(0), Some(15))),
                15,
                Step::Acquire,
            ),
            (
                "theirs, default duration",
                Some(lease("b", Some(0), None)),
                10,
                wait("b", 15),
            ),
            (
                "theirs, never renewed",
                Some(lease("b", None, Some(15))),
                0,
                Step::Acquire,
            ),
        ];
        for (case, spec, now, want) in table {
            assert_eq!(decide(spec.as_ref(), "me", at(now), d), want, "{case}");
        }
    }
}
