//! Rules for batch kinds: Job (counts, completion mode, selector and template, restart
//! policy) and CronJob (schedule, concurrency policy, history limits, job template).

use serde_json::Value;

use super::field::{
    check_enum, check_min, child, invalid_str, present, required, required_because, str_of,
};
use super::workloads::{selector_and_template, template_restart_policy};
use crate::status::FieldError;

/// A Job's spec at `path` (`spec`, or `spec.jobTemplate.spec` of a CronJob).
pub(crate) fn validate_job_spec(spec: &Value, path: &str, errs: &mut Vec<FieldError>) {
    for f in [
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ] {
        check_min(errs, spec, path, f, 0);
    }
    check_enum(
        errs,
        spec,
        path,
        "completionMode",
        &["NonIndexed", "Indexed"],
    );
    if str_of(spec, "completionMode") == Some("Indexed") && present(spec, "completions").is_none() {
        errs.push(required_because(
            child(path, "completions"),
            "when completion mode is Indexed",
        ));
    }
    let manual = spec.get("manualSelector").and_then(Value::as_bool) == Some(true);
    selector_and_template(spec, path, manual, "deployment", errs);
    template_restart_policy(spec, path, &["OnFailure", "Never"], errs);
}

pub(crate) fn validate_job(obj: &Value, errs: &mut Vec<FieldError>) {
    validate_job_spec(obj.get("spec").unwrap_or(&Value::Null), "spec", errs);
}

pub(crate) fn validate_cronjob(obj: &Value, errs: &mut Vec<FieldError>) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    if let Some(name) = obj.pointer("/metadata/name").and_then(Value::as_str)
        && name.len() > 52
    {
        errs.push(invalid_str(
            "metadata.name",
            name,
            "must be no more than 52 characters",
        ));
    }
    match str_of(spec, "schedule").unwrap_or("") {
        "" => errs.push(required("spec.schedule")),
        s => {
            if let Err(m) = check_schedule(s) {
                errs.push(invalid_str("spec.schedule", s, &m));
            }
        }
    }
    check_enum(
        errs,
        spec,
        "spec",
        "concurrencyPolicy",
        &["Allow", "Forbid", "Replace"],
    );
    for f in [
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    ] {
        check_min(errs, spec, "spec", f, 0);
    }
    let job = spec.pointer("/jobTemplate/spec").unwrap_or(&Value::Null);
    validate_job_spec(job, "spec.jobTemplate.spec", errs);
}

/// A cron schedule: five fields or a `@hourly`-style descriptor.
fn check_schedule(s: &str) -> Result<(), String> {
    let s = s
        .strip_prefix("TZ=")
        .or_else(|| s.strip_prefix("CRON_TZ="))
        .map_or(s, |rest| {
            rest.split_once(' ').map_or("", |(_, sched)| sched)
        });
    if let Some(d) = s.strip_prefix('@') {
        return match d {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => {
                Ok(())
            }
            _ if d.starts_with("every ") => Ok(()),
            _ => Err(format!("unrecognized descriptor: {s}")),
        };
    }
    let fields: Vec<&str> = s.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: {s}",
            fields.len()
        ));
    }
    let ok = |f: &str| {
        f.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"*/,-?".contains(&c))
    };
    match fields.iter().find(|f| !ok(f)) {
        Some(bad) => Err(format!("failed to parse schedule field: {bad}")),
        None => Ok(()),
    }
}
