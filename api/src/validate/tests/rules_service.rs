//! Table-driven validation cases for services, ConfigMaps, Secrets and namespaces, plus the
//! name, quantity and `validate_name` helpers.

use serde_json::json;

use super::rules::{case, run};
use super::{configmap, info, namespace, secret, service, with};
use crate::validate::quantity::parse_quantity;
use crate::validate::validate_name;

#[test]
fn service_and_config_rules() {
    let s = service;
    run(vec![
        case("good service", "Service", s(), None),
        case(
            "ports required",
            "Service",
            with(s(), "/spec/ports", json!([])),
            Some(("spec.ports", "Required value")),
        ),
        case(
            "headless without ports",
            "Service",
            with(
                with(s(), "/spec/ports", json!([])),
                "/spec/clusterIP",
                json!("None"),
            ),
            None,
        ),
        case(
            "port range",
            "Service",
            with(s(), "/spec/ports/0/port", json!(0)),
            Some((
                "spec.ports[0].port",
                "must be between 1 and 65535, inclusive",
            )),
        ),
        case(
            "protocol",
            "Service",
            with(s(), "/spec/ports/0/protocol", json!("HTTP")),
            Some(("spec.ports[0].protocol", "Unsupported value: \"HTTP\"")),
        ),
        case(
            "type",
            "Service",
            with(s(), "/spec/type", json!("Internal")),
            Some((
                "spec.type",
                "supported values: \"ClusterIP\", \"NodePort\", \"LoadBalancer\", \"ExternalName\"",
            )),
        ),
        case(
            "node port range",
            "Service",
            with(
                with(s(), "/spec/type", json!("NodePort")),
                "/spec/ports/0/nodePort",
                json!(80),
            ),
            Some((
                "spec.ports[0].nodePort",
                "The range of valid ports is 30000-32767",
            )),
        ),
        case(
            "node port ok",
            "Service",
            with(
                with(s(), "/spec/type", json!("NodePort")),
                "/spec/ports/0/nodePort",
                json!(30080),
            ),
            None,
        ),
        case(
            "node port on ClusterIP",
            "Service",
            with(s(), "/spec/ports/0/nodePort", json!(30080)),
            Some((
                "spec.ports[0].nodePort",
                "may not be used when `type` is 'ClusterIP'",
            )),
        ),
        case(
            "port names needed",
            "Service",
            with(s(), "/spec/ports/1", json!({"port": 443})),
            Some(("spec.ports[1].name", "Required value")),
        ),
        case(
            "target port name",
            "Service",
            with(s(), "/spec/ports/0/targetPort", json!("Bad_Name")),
            Some((
                "spec.ports[0].targetPort",
                "must contain only alphanumeric characters",
            )),
        ),
        case(
            "cluster IP",
            "Service",
            with(s(), "/spec/clusterIP", json!("10.0.0.300")),
            Some((
                "spec.clusterIP",
                "must be empty, 'None', or a valid IP address",
            )),
        ),
        case(
            "external name required",
            "Service",
            with(s(), "/spec/type", json!("ExternalName")),
            Some(("spec.externalName", "Required value")),
        ),
        case(
            "external traffic policy on ClusterIP",
            "Service",
            with(s(), "/spec/externalTrafficPolicy", json!("Local")),
            Some((
                "spec.externalTrafficPolicy",
                "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
            )),
        ),
        case(
            "service name is DNS-1035",
            "Service",
            with(s(), "/metadata/name", json!("1web")),
            Some(("metadata.name", "a DNS-1035 label must consist of")),
        ),
        case("good configmap", "ConfigMap", configmap(), None),
        case(
            "configmap key",
            "ConfigMap",
            with(configmap(), "/data/bad key", json!("v")),
            Some(("data[bad key]", "a valid config key must consist of")),
        ),
        case(
            "configmap dot-dot",
            "ConfigMap",
            with(configmap(), "/data/..", json!("v")),
            Some(("data[..]", "must not be '..'")),
        ),
        case(
            "configmap key in both maps",
            "ConfigMap",
            with(configmap(), "/binaryData/LOG_LEVEL", json!("AA==")),
            Some(("data[LOG_LEVEL]", "duplicate of key present in binaryData")),
        ),
        case("good secret", "Secret", secret(), None),
        case(
            "secret key",
            "Secret",
            with(secret(), "/stringData/a~1b", json!("v")),
            Some(("data[a/b]", "a valid config key")),
        ),
        case(
            "tls secret keys",
            "Secret",
            with(secret(), "/type", json!("kubernetes.io/tls")),
            Some(("data[tls.crt]", "Required value")),
        ),
        case("good namespace", "Namespace", namespace(), None),
        case(
            "namespace is a label",
            "Namespace",
            with(namespace(), "/metadata/name", json!("team.a")),
            Some(("metadata.name", "RFC 1123 label")),
        ),
        case(
            "namespace finalizer",
            "Namespace",
            with(namespace(), "/spec/finalizers", json!(["a/b/c"])),
            Some(("spec.finalizers[0]", "a qualified name")),
        ),
        case(
            "namespaced field on cluster kind",
            "Namespace",
            with(namespace(), "/metadata/namespace", json!("default")),
            Some(("metadata.namespace", "not allowed on this type")),
        ),
    ]);
}

#[test]
fn names_and_quantities() {
    assert!(validate_name(info("Pod"), "web-1.example").is_empty());
    assert!(validate_name(info("Namespace"), "kube-system").is_empty());
    let e = validate_name(info("Namespace"), "Kube");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].field, "metadata.name");
    assert!(
        e[0].describe()
            .starts_with("metadata.name: Invalid value: \"Kube\": a lowercase RFC 1123 label")
    );
    assert_eq!(
        validate_name(info("Service"), &"s".repeat(64))[0].message,
        format!(
            "Invalid value: \"{}\": must be no more than 63 characters",
            "s".repeat(64)
        )
    );
    for (q, want) in [
        ("100m", Some(0.1)),
        ("128Mi", Some(134_217_728.0)),
        ("1Gi", Some(1_073_741_824.0)),
        ("0.5", Some(0.5)),
        ("1e3", Some(1000.0)),
        ("2k", Some(2000.0)),
        ("+1.5", Some(1.5)),
        (".5", Some(0.5)),
        ("1Gb", None),
        ("", None),
        ("abc", None),
        ("1..2", None),
        ("1e", None),
    ] {
        assert_eq!(parse_quantity(q), want, "{q}");
    }
}
