//! Table-driven validation cases for pod specs: containers, names, ports and policies.

use serde_json::json;

use super::rules::{case, run};
use super::{pod, with, without};

#[test]
fn pod_rules() {
    let p = pod;
    let c0 = "/spec/containers/0";
    let second = |name: &str| {
        with(
            p(),
            "/spec/containers/1",
            json!({"name": name, "image": "x:1"}),
        )
    };
    run(vec![
        case(
            "no containers",
            "Pod",
            with(p(), "/spec/containers", json!([])),
            Some(("spec.containers", "Required value")),
        ),
        case(
            "container name format",
            "Pod",
            with(p(), &format!("{c0}/name"), json!("App_1")),
            Some((
                "spec.containers[0].name",
                "Invalid value: \"App_1\": a lowercase RFC 1123 label",
            )),
        ),
        case(
            "container name required",
            "Pod",
            without(p(), &format!("{c0}/name")),
            Some(("spec.containers[0].name", "Required value")),
        ),
        case(
            "duplicate container names",
            "Pod",
            second("app"),
            Some(("spec.containers[1].name", "Duplicate value: \"app\"")),
        ),
        case("two containers", "Pod", second("sidecar"), None),
        case(
            "image required",
            "Pod",
            without(p(), &format!("{c0}/image")),
            Some(("spec.containers[0].image", "Required value")),
        ),
        case(
            "port zero",
            "Pod",
            with(p(), &format!("{c0}/ports/0/containerPort"), json!(0)),
            Some((
                "spec.containers[0].ports[0].containerPort",
                "Invalid value: 0: must be between 1 and 65535, inclusive",
            )),
        ),
        case(
            "port too big",
            "Pod",
            with(p(), &format!("{c0}/ports/0/containerPort"), json!(70000)),
            Some((
                "spec.containers[0].ports[0].containerPort",
                "must be between 1 and 65535",
            )),
        ),
        case(
            "port protocol",
            "Pod",
            with(p(), &format!("{c0}/ports/0/protocol"), json!("HTTP")),
            Some((
                "spec.containers[0].ports[0].protocol",
                "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            )),
        ),
        case(
            "port name",
            "Pod",
            with(p(), &format!("{c0}/ports/0/name"), json!("http_1")),
            Some((
                "spec.containers[0].ports[0].name",
                "must contain only alphanumeric characters",
            )),
        ),
        case(
            "restart policy",
            "Pod",
            with(p(), "/spec/restartPolicy", json!("Sometimes")),
            Some((
                "spec.restartPolicy",
                "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
            )),
        ),
        case(
            "dns policy",
            "Pod",
            with(p(), "/spec/dnsPolicy", json!("Google")),
            Some(("spec.dnsPolicy", "Unsupported value")),
        ),
        case(
            "pull policy",
            "Pod",
            with(p(), &format!("{c0}/imagePullPolicy"), json!("Sometimes")),
            Some(("spec.containers[0].imagePullPolicy", "Unsupported value")),
        ),
        case(
            "active deadline",
            "Pod",
            with(p(), "/spec/activeDeadlineSeconds", json!(0)),
            Some((
                "spec.activeDeadlineSeconds",
                "must be between 1 and 2147483647, inclusive",
            )),
        ),
    ]);
}
