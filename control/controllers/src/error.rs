//! The crate's errors: what makes an object impossible to reconcile (a bad selector, a bad
//! percentage, a bad schedule). The I/O layer reports them as events and does not retry
//! until the object changes.

use skiff_api::selector::SelectorError;

/// Why a decision could not be made for an object.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The object's label selector does not parse or is invalid.
    #[error("invalid selector: {0}")]
    Selector(#[from] SelectorError),
    /// A workload without a selector (the API server should have refused it).
    #[error("{kind} has no selector")]
    MissingSelector { kind: &'static str },
    /// An int-or-string that is neither an integer nor `N%`.
    #[error("invalid value {value:?}: must be an integer or a percentage")]
    IntOrPercent { value: String },
    /// maxSurge and maxUnavailable both resolve to 0: a rollout could never make progress.
    #[error("maxSurge and maxUnavailable cannot both be zero")]
    SurgeAndUnavailableZero,
    /// The object lacks a field the decision needs (name, uid, template...).
    #[error("{kind} is missing {field}")]
    MissingField {
        kind: &'static str,
        field: &'static str,
    },
    /// A CronJob schedule that does not parse.
    #[error("invalid schedule {schedule:?}: {reason}")]
    Schedule {
        schedule: String,
        reason: ScheduleProblem,
    },
    /// A CronJob `timeZone` (or `CRON_TZ=`) that is not in the tz database.
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
    /// A cluster CIDR that is not an IPv4 prefix, or a node mask that does not fit it.
    #[error("invalid cluster CIDR {cidr:?} with node mask /{mask}")]
    ClusterCidr { cidr: String, mask: u8 },
    /// A pod whose controller has no scale a budget can count (kube's "found no controllers").
    #[error("found no controllers for pod {pod:?} (its controller, a {kind}, has no scale)")]
    NoScale { pod: String, kind: String },
    /// Every node CIDR of the cluster range is taken.
    #[error("no pod CIDR left in {cidr} for node {node}")]
    CidrExhausted { cidr: String, node: String },
}

/// What is wrong with a cron schedule (kept apart from the text so callers match on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleProblem {
    #[error("expected exactly 5 fields")]
    FieldCount,
    #[error("a field value is not a number or a known name")]
    Value,
    #[error("a value is out of the field's range")]
    Range,
    #[error("a step must be a positive number")]
    Step,
    #[error("unknown descriptor")]
    Descriptor,
    #[error("cannot use both timeZone and TZ or CRON_TZ in schedule")]
    TzInScheduleAndTimeZone,
}
