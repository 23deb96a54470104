//! Table-driven validation cases for workloads: Deployment, ReplicaSet, Job, CronJob and
//! HorizontalPodAutoscaler.

use serde_json::json;

use super::rules::{case, run};
use super::{cronjob, deployment, hpa, job, replicaset, with, without};

#[test]
fn workload_rules() {
    let d = deployment;
    let sel_expr = |e: serde_json::Value| {
        with(
            without(d(), "/spec/selector/matchLabels"),
            "/spec/selector/matchExpressions",
            e,
        )
    };
    run(vec![
        case("good deployment", "Deployment", d(), None),
        case(
            "negative replicas",
            "Deployment",
            with(d(), "/spec/replicas", json!(-1)),
            Some((
                "spec.replicas",
                "Invalid value: -1: must be greater than or equal to 0",
            )),
        ),
        case(
            "selector required",
            "Deployment",
            without(d(), "/spec/selector"),
            Some(("spec.selector", "Required value")),
        ),
        case(
            "empty selector",
            "Deployment",
            with(d(), "/spec/selector", json!({})),
            Some(("spec.selector", "empty selector is invalid for deployment")),
        ),
        case(
            "selector mismatch",
            "Deployment",
            with(d(), "/spec/selector/matchLabels/app", json!("api")),
            Some((
                "spec.template.metadata.labels",
                "`selector` does not match template `labels`",
            )),
        ),
        case(
            "expression selector",
            "Deployment",
            sel_expr(json!([{"key": "app", "operator": "In", "values": ["web", "api"]}])),
            None,
        ),
        case(
            "expression mismatch",
            "Deployment",
            sel_expr(json!([{"key": "app", "operator": "DoesNotExist"}])),
            Some(("spec.template.metadata.labels", "does not match")),
        ),
        case(
            "In without values",
            "Deployment",
            sel_expr(json!([{"key": "app", "operator": "In"}])),
            Some(("spec.selector.matchExpressions[0].values", "Required value")),
        ),
        case(
            "bad operator",
            "Deployment",
            sel_expr(json!([{"key": "app", "operator": "Is", "values": ["web"]}])),
            Some((
                "spec.selector.matchExpressions[0].operator",
                "Unsupported value: \"Is\"",
            )),
        ),
        case(
            "template restart policy",
            "Deployment",
            with(d(), "/spec/template/spec/restartPolicy", json!("Never")),
            Some((
                "spec.template.spec.restartPolicy",
                "Unsupported value: \"Never\": supported values: \"Always\"",
            )),
        ),
        case(
            "template image",
            "Deployment",
            without(d(), "/spec/template/spec/containers/0/image"),
            Some(("spec.template.spec.containers[0].image", "Required value")),
        ),
        case(
            "recreate with rollingUpdate",
            "Deployment",
            with(
                d(),
                "/spec/strategy",
                json!({"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}),
            ),
            Some((
                "spec.strategy.rollingUpdate",
                "may not be specified when strategy `type` is 'Recreate'",
            )),
        ),
        case(
            "strategy type",
            "Deployment",
            with(d(), "/spec/strategy/type", json!("BlueGreen")),
            Some(("spec.strategy.type", "Unsupported value")),
        ),
        case(
            "surge and unavailable zero",
            "Deployment",
            with(
                d(),
                "/spec/strategy/rollingUpdate",
                json!({"maxSurge": 0, "maxUnavailable": "0%"}),
            ),
            Some((
                "spec.strategy.rollingUpdate.maxUnavailable",
                "may not be 0 when `maxSurge` is 0",
            )),
        ),
        case(
            "unavailable over 100%",
            "Deployment",
            with(
                d(),
                "/spec/strategy/rollingUpdate/maxUnavailable",
                json!("150%"),
            ),
            Some((
                "spec.strategy.rollingUpdate.maxUnavailable",
                "must not be greater than 100%",
            )),
        ),
        case(
            "bad percent",
            "Deployment",
            with(d(), "/spec/strategy/rollingUpdate/maxSurge", json!("lots")),
            Some((
                "spec.strategy.rollingUpdate.maxSurge",
                "a valid percent string",
            )),
        ),
        case(
            "progress deadline",
            "Deployment",
            with(
                with(d(), "/spec/minReadySeconds", json!(700)),
                "/spec/progressDeadlineSeconds",
                json!(600),
            ),
            Some((
                "spec.progressDeadlineSeconds",
                "must be greater than minReadySeconds",
            )),
        ),
        case("good replicaset", "ReplicaSet", replicaset(), None),
        case(
            "replicaset mismatch",
            "ReplicaSet",
            with(replicaset(), "/spec/selector/matchLabels/tier", json!("x")),
            Some(("spec.template.metadata.labels", "does not match")),
        ),
        case("good job", "Job", job(), None),
        case(
            "job restart always",
            "Job",
            with(job(), "/spec/template/spec/restartPolicy", json!("Always")),
            Some((
                "spec.template.spec.restartPolicy",
                "supported values: \"OnFailure\", \"Never\"",
            )),
        ),
        case(
            "job parallelism",
            "Job",
            with(job(), "/spec/parallelism", json!(-2)),
            Some(("spec.parallelism", "must be greater than or equal to 0")),
        ),
        case(
            "indexed needs completions",
            "Job",
            with(
                with(job(), "/spec/completionMode", json!("Indexed")),
                "/spec/parallelism",
                json!(2),
            ),
            Some(("spec.completions", "Required value")),
        ),
        case(
            "manual selector required",
            "Job",
            with(job(), "/spec/manualSelector", json!(true)),
            Some(("spec.selector", "Required value")),
        ),
        case("good cronjob", "CronJob", cronjob(), None),
        case(
            "cron descriptor",
            "CronJob",
            with(cronjob(), "/spec/schedule", json!("@hourly")),
            None,
        ),
        case(
            "schedule fields",
            "CronJob",
            with(cronjob(), "/spec/schedule", json!("every minute")),
            Some(("spec.schedule", "expected exactly 5 fields, found 2")),
        ),
        case(
            "schedule required",
            "CronJob",
            without(cronjob(), "/spec/schedule"),
            Some(("spec.schedule", "Required value")),
        ),
        case(
            "concurrency policy",
            "CronJob",
            with(cronjob(), "/spec/concurrencyPolicy", json!("Sometimes")),
            Some(("spec.concurrencyPolicy", "Unsupported value")),
        ),
        case(
            "cronjob name length",
            "CronJob",
            with(cronjob(), "/metadata/name", json!("c".repeat(53))),
            Some(("metadata.name", "must be no more than 52 characters")),
        ),
        case(
            "cronjob template restart",
            "CronJob",
            with(
                cronjob(),
                "/spec/jobTemplate/spec/template/spec/restartPolicy",
                json!("Always"),
            ),
            Some((
                "spec.jobTemplate.spec.template.spec.restartPolicy",
                "Unsupported value",
            )),
        ),
        case("good hpa", "HorizontalPodAutoscaler", hpa(), None),
        case(
            "hpa min zero",
            "HorizontalPodAutoscaler",
            with(hpa(), "/spec/minReplicas", json!(0)),
            Some(("spec.minReplicas", "must be greater than or equal to 1")),
        ),
        case(
            "hpa max below min",
            "HorizontalPodAutoscaler",
            with(hpa(), "/spec/maxReplicas", json!(1)),
            Some((
                "spec.maxReplicas",
                "must be greater than or equal to `minReplicas`",
            )),
        ),
        case(
            "hpa target name",
            "HorizontalPodAutoscaler",
            without(hpa(), "/spec/scaleTargetRef/name"),
            Some(("spec.scaleTargetRef.name", "Required value")),
        ),
    ]);
}
