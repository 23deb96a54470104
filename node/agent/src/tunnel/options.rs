//! The query of a `/containerLogs/...` request, as the kubelet reads it: `follow`,
//! `previous`, `timestamps`, `tailLines`, `sinceSeconds`, `sinceTime`, `limitBytes`.
//! Pure: the caller passes `now`, which `sinceSeconds` counts back from.

use skiff_runtime_wasm::logs::parse_time;
use std::time::{Duration, SystemTime};

/// What a log request asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Keep streaming what the container writes until it ends.
    pub follow: bool,
    /// The run before the current one.
    pub previous: bool,
    /// Prefix every line with its time.
    pub timestamps: bool,
    /// Only the last this many lines (before following).
    pub tail_lines: Option<u64>,
    /// Only entries written at or after this time.
    pub since: Option<SystemTime>,
    /// Stop after this many bytes of output.
    pub limit_bytes: Option<u64>,
}

/// A query parameter the kubelet would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    #[error("{name}: invalid value {value:?}: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("at most one of `sinceTime` or `sinceSeconds` may be specified")]
    BothSince,
}

fn flag(name: &'static str, value: &str) -> Result<bool, OptionsError> {
    match value {
        "true" | "1" | "" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(OptionsError::Invalid {
            name,
            value: value.to_owned(),
            reason: "must be true or false",
        }),
    }
}

fn number(name: &'static str, value: &str, min: u64) -> Result<u64, OptionsError> {
    let reason = if min == 0 {
        "must be greater than or equal to 0"
    } else {
        "must be greater than 0"
    };
    value
        .parse::<u64>()
        .ok()
        .filter(|n| *n >= min)
        .ok_or_else(|| OptionsError::Invalid {
            name,
            value: value.to_owned(),
            reason,
        })
}

impl LogOptions {
    /// Parses a query string (unknown parameters are ignored, as the kubelet does).
    pub fn parse(query: &str, now: SystemTime) -> Result<LogOptions, OptionsError> {
        let mut options = LogOptions::default();
        let mut since_seconds = None;
        let mut since_time = None;
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*name {
                "follow" => options.follow = flag("follow", &value)?,
                "previous" => options.previous = flag("previous", &value)?,
                "timestamps" => options.timestamps = flag("timestamps", &value)?,
                "tailLines" => options.tail_lines = Some(number("tailLines", &value, 0)?),
                "limitBytes" => options.limit_bytes = Some(number("limitBytes", &value, 1)?),
                "sinceSeconds" => since_seconds = Some(number("sinceSeconds", &value, 1)?),
                "sinceTime" => {
                    let time = parse_time(&value).ok_or_else(|| OptionsError::Invalid {
                        name: "sinceTime",
                        value: value.to_string(),
                        reason: "must be an RFC 3339 time",
                    })?;
                    since_time = Some(time);
                }
                _ => {}
            }
        }
        options.since = match (since_seconds, since_time) {
            (Some(_), Some(_)) => return Err(OptionsError::BothSince),
            (Some(seconds), None) => Some(
                now.checked_sub(Duration::from_secs(seconds))
                    .unwrap_or(SystemTime::UNIX_EPOCH),
            ),
            (None, time) => time,
        };
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn queries_parse_as_the_kubelet_reads_them() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let at = |s: u64| Some(UNIX_EPOCH + Duration::from_secs(s));
        let cases: Vec<(&str, Result<LogOptions, OptionsError>)> = vec![
            ("", Ok(LogOptions::default())),
            (
                "follow=true&timestamps=true&previous=false&container=x",
                Ok(LogOptions {
                    follow: true,
                    timestamps: true,
                    ..LogOptions::default()
                }),
            ),
            (
                "tailLines=0&limitBytes=10&sinceSeconds=60",
                Ok(LogOptions {
                    tail_lines: Some(0),
                    limit_bytes: Some(10),
                    since: at(940),
                    ..LogOptions::default()
                }),
            ),
            (
                "sinceTime=1970-01-01T00%3A01%3A40Z",
                Ok(LogOptions {
                    since: at(100),
                    ..LogOptions::default()
                }),
            ),
            (
                "sinceSeconds=5&sinceTime=1970-01-01T00:01:40Z",
                Err(OptionsError::BothSince),
            ),
            (
                "tailLines=-1",
                Err(OptionsError::Invalid {
                    name: "tailLines",
                    value: "-1".into(),
                    reason: "must be greater than or equal to 0",
                }),
            ),
            (
                "limitBytes=0",
                Err(OptionsError::Invalid {
                    name: "limitBytes",
                    value: "0".into(),
                    reason: "must be greater than 0",
                }),
            ),
            (
                "follow=maybe",
                Err(OptionsError::Invalid {
                    name: "follow",
                    value: "maybe".into(),
                    reason: "must be true or false",
                }),
            ),
        ];
        for (query, want) in cases {
            assert_eq!(LogOptions::parse(query, now), want, "{query}");
        }
    }
}
