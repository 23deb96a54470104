//! Table-driven validation cases for pod specs: resources, volumes, mounts, env, probes,
//! tolerations, node selectors.

use serde_json::json;

use super::rules::{case, run};
use super::{pod, with, without};

#[test]
fn pod_resource_volume_and_probe_rules() {
    let p = pod;
    let c0 = "/spec/containers/0";
    run(vec![
        case(
            "bad quantity",
            "Pod",
            with(p(), &format!("{c0}/resources/limits/memory"), json!("lots")),
            Some((
                "spec.containers[0].resources.limits[memory]",
                "quantities must match the regular expression",
            )),
        ),
        case(
            "negative quantity",
            "Pod",
            with(p(), &format!("{c0}/resources/requests/cpu"), json!("-1")),
            Some((
                "spec.containers[0].resources.requests[cpu]",
                "must be greater than or equal to 0",
            )),
        ),
        case(
            "requests above limits",
            "Pod",
            with(p(), &format!("{c0}/resources/requests/cpu"), json!("1500m")),
            Some((
                "spec.containers[0].resources.requests[cpu]",
                "must be less than or equal to cpu limit of 1",
            )),
        ),
        case(
            "numeric quantities",
            "Pod",
            with(p(), &format!("{c0}/resources/requests/cpu"), json!(0.5)),
            None,
        ),
        case(
            "non-standard resource",
            "Pod",
            with(p(), &format!("{c0}/resources/limits/gpu"), json!("1")),
            Some((
                "spec.containers[0].resources.limits[gpu]",
                "must be a standard resource for containers",
            )),
        ),
        case(
            "extended resource",
            "Pod",
            with(
                p(),
                &format!("{c0}/resources/limits/example.com~1gpu"),
                json!("1"),
            ),
            None,
        ),
        case(
            "duplicate volumes",
            "Pod",
            with(
                p(),
                "/spec/volumes/1",
                json!({"name": "config", "emptyDir": {}}),
            ),
            Some(("spec.volumes[1].name", "Duplicate value: \"config\"")),
        ),
        case(
            "volume name",
            "Pod",
            with(
                p(),
                "/spec/volumes/1",
                json!({"name": "Data", "emptyDir": {}}),
            ),
            Some(("spec.volumes[1].name", "RFC 1123 label")),
        ),
        case(
            "two volume sources",
            "Pod",
            with(p(), "/spec/volumes/0/emptyDir", json!({})),
            Some(("spec.volumes[0]", "may not specify more than 1 volume type")),
        ),
        case(
            "mount of a missing volume",
            "Pod",
            with(p(), "/spec/volumes/0/name", json!("other")),
            Some((
                "spec.containers[0].volumeMounts[0].name",
                "Not found: \"config\"",
            )),
        ),
        case(
            "mount path required",
            "Pod",
            without(p(), &format!("{c0}/volumeMounts/0/mountPath")),
            Some((
                "spec.containers[0].volumeMounts[0].mountPath",
                "Required value",
            )),
        ),
        case(
            "env name",
            "Pod",
            with(
                p(),
                &format!("{c0}/env"),
                json!([{"name": "A=B", "value": "1"}]),
            ),
            Some((
                "spec.containers[0].env[0].name",
                "printable ASCII characters other than '='",
            )),
        ),
        case(
            "env value and valueFrom",
            "Pod",
            with(
                p(),
                &format!("{c0}/env"),
                json!([{"name": "A", "value": "1", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]),
            ),
            Some((
                "spec.containers[0].env[0].valueFrom",
                "may not be specified when `value` is not empty",
            )),
        ),
        case(
            "probe without handler",
            "Pod",
            with(
                p(),
                &format!("{c0}/livenessProbe"),
                json!({"periodSeconds": 5}),
            ),
            Some((
                "spec.containers[0].livenessProbe",
                "must specify a handler type",
            )),
        ),
        case(
            "probe port",
            "Pod",
            with(
                p(),
                &format!("{c0}/readinessProbe"),
                json!({"httpGet": {"port": 0}}),
            ),
            Some((
                "spec.containers[0].readinessProbe.httpGet.port",
                "must be between 1 and 65535",
            )),
        ),
        case(
            "probe by port name",
            "Pod",
            with(
                p(),
                &format!("{c0}/readinessProbe"),
                json!({"httpGet": {"port": "http", "path": "/healthz"}}),
            ),
            None,
        ),
        case(
            "liveness success threshold",
            "Pod",
            with(
                p(),
                &format!("{c0}/livenessProbe"),
                json!({"tcpSocket": {"port": 8080}, "successThreshold": 2}),
            ),
            Some((
                "spec.containers[0].livenessProbe.successThreshold",
                "must be 1",
            )),
        ),
        case(
            "toleration exists with value",
            "Pod",
            with(
                p(),
                "/spec/tolerations",
                json!([{"key": "k", "operator": "Exists", "value": "v"}]),
            ),
            Some((
                "spec.tolerations[0].operator",
                "value must be empty when `operator` is 'Exists'",
            )),
        ),
        case(
            "toleration effect",
            "Pod",
            with(
                p(),
                "/spec/tolerations",
                json!([{"key": "k", "operator": "Equal", "value": "v", "effect": "Never"}]),
            ),
            Some(("spec.tolerations[0].effect", "Unsupported value")),
        ),
        case(
            "node selector",
            "Pod",
            with(p(), "/spec/nodeSelector", json!({"disk": "fast ssd"})),
            Some(("spec.nodeSelector[disk]", "a valid label must be")),
        ),
        case(
            "sidecar restart policy",
            "Pod",
            with(
                p(),
                "/spec/initContainers",
                json!([{"name": "init", "image": "x:1", "restartPolicy": "Never"}]),
            ),
            Some((
                "spec.initContainers[0].restartPolicy",
                "Unsupported value: \"Never\": supported values: \"Always\"",
            )),
        ),
        case(
            "not an object",
            "Pod",
            json!("pod"),
            Some(("", "must be a JSON object")),
        ),
    ]);
}
