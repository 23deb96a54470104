//! What a port-forward request names, by table.

use std::net::IpAddr;

use http::{Request, StatusCode};

use super::{POD_IP_HEADER, PortForwardError, parse};
use crate::tunnel::POD_UID_HEADER;

fn request(path: &str, uid: Option<&str>, ip: Option<&str>) -> Request<()> {
    let mut builder = Request::post(path);
    if let Some(uid) = uid {
        builder = builder.header(POD_UID_HEADER, uid);
    }
    if let Some(ip) = ip {
        builder = builder.header(POD_IP_HEADER, ip);
    }
    builder.body(()).unwrap()
}

#[test]
fn requests_name_a_pod_its_ip_and_a_port() {
    let ok = request(
        "/portForward/default/web/8080",
        Some("u-1"),
        Some("10.244.0.7"),
    );
    let (pod, ip, port) = parse(&ok).unwrap();
    assert_eq!(
        (pod.namespace, pod.name, pod.uid),
        ("default", "web", "u-1")
    );
    assert_eq!(ip, "10.244.0.7".parse::<IpAddr>().unwrap());
    assert_eq!(port, 8080);

    let cases = [
        (
            request("/portForward/default/web", Some("u"), Some("10.244.0.7")),
            "the path is",
        ),
        (
            request("/portForward/default/web/0", Some("u"), Some("10.244.0.7")),
            "port \"0\"",
        ),
        (
            request(
                "/portForward/default/web/http",
                Some("u"),
                Some("10.244.0.7"),
            ),
            "port \"http\"",
        ),
        (
            request("/portForward/default/web/80", None, Some("10.244.0.7")),
            "no pod uid",
        ),
        (
            request("/portForward/default/web/80", Some("u"), Some("nope")),
            "no pod IP",
        ),
        (
            request("/portForward/default/web/80", Some("u"), None),
            "no pod IP",
        ),
    ];
    for (given, words) in cases {
        let refused = parse(&given).unwrap_err();
        assert!(
            refused.to_string().contains(words),
            "{}: {refused}",
            given.uri()
        );
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    }
}

#[test]
fn refusals_read_as_the_kubelets() {
    let cases = [
        (
            PortForwardError::PodNotFound {
                pod: "web_default".into(),
            },
            StatusCode::NOT_FOUND,
            "pod not found (\"web_default\")",
        ),
        (
            PortForwardError::Connect {
                port: 9999,
                reason: "connection refused".into(),
            },
            StatusCode::BAD_GATEWAY,
            "failed to connect to localhost:9999 inside the pod: connection refused",
        ),
    ];
    for (error, status, words) in cases {
        assert_eq!(error.status(), status);
        assert!(error.to_string().starts_with(words), "{error}");
    }
}
