//! `SystemTime` to the API's `Time`, truncated to whole seconds as the API serializes it.

use skiff_api::k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use skiff_api::k8s_openapi::jiff::Timestamp;
use std::time::{SystemTime, UNIX_EPOCH};

/// The API `Time` of `t` (whole seconds; times before 1970 or past 9999 clamp to the epoch).
pub fn to_kube(t: SystemTime) -> Time {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let stamp = i64::try_from(secs)
        .ok()
        .and_then(|s| Timestamp::from_second(s).ok())
        .unwrap_or(Timestamp::UNIX_EPOCH);
    Time(stamp)
}
