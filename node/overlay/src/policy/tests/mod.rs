//! The NetworkPolicy decision, by table: isolation, peers by pod and namespace selectors and
//! both, ports with protocol, named ports and endPort; egress and ipBlock in `egress`.

use super::*;
use serde_json::{Value, json};

/// An end in a table: address, and the pod when it is one.
pub(super) type EndAt<'a> = (&'a str, Option<&'a PodIdentity>);
/// (name, policies, the other end, allowed)
pub(super) type Case<'a> = (&'a str, Vec<PolicyEntry>, EndAt<'a>, bool);
/// (name, policies, the source pod, the outside address, allowed)
pub(super) type OutsideCase<'a> = (
    &'a str,
    Vec<PolicyEntry>,
    Option<&'a PodIdentity>,
    &'a str,
    bool,
);

pub(super) fn policy(namespace: &str, spec: Value) -> PolicyEntry {
    let object = json!({"metadata": {"name": "p", "namespace": namespace}, "spec": spec});
    PolicyEntry::of(&serde_json::from_value(object).unwrap())
}

pub(super) fn pod(namespace: &str, labels: &[(&str, &str)]) -> PodIdentity {
    PodIdentity {
        namespace: namespace.into(),
        labels: Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ports: vec![("web".into(), "TCP".into(), 8080)],
    }
}

pub(super) fn tables(policies: Vec<PolicyEntry>) -> PolicyTables {
    let mut t = PolicyTables::default();
    for (i, p) in policies.into_iter().enumerate() {
        t.policies.insert((p.namespace.clone(), i.to_string()), p);
    }
    t.namespaces.insert(
        "team".into(),
        [("env".to_owned(), "prod".to_owned())].into(),
    );
    t.namespaces.insert("other".into(), Labels::new());
    t
}

/// A flow from a pod (or an outside address, `None`) to a pod (or outside address).
pub(super) fn decide(
    t: &PolicyTables,
    proto: Proto,
    from: (&str, Option<&PodIdentity>),
    to: (&str, Option<&PodIdentity>),
) -> bool {
    allows(
        t,
        &Flow {
            proto,
            source: end(from),
            destination: end(to),
        },
    )
}

pub(super) fn end<'a>((addr, pod): (&str, Option<&'a PodIdentity>)) -> End<'a> {
    End {
        addr: addr.parse().unwrap(),
        pod,
    }
}

#[test]
fn ingress_rules_isolate_only_selected_pods_and_add_up() {
    let echo = pod("echoes", &[("app", "echo")]);
    let other = pod("echoes", &[("app", "other")]);
    let client = pod("default", &[("role", "client")]);
    let team_client = pod("team", &[("role", "client")]);
    let team_server = pod("team", &[("role", "server")]);
    let team_unknown = PodIdentity {
        labels: None,
        ..pod("team", &[])
    };
    let deny_echo = policy(
        "echoes",
        json!({"podSelector": {"matchLabels": {"app": "echo"}}}),
    );
    let allow_team = policy(
        "echoes",
        json!({"podSelector": {}, "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"env": "prod"}}}]}]}),
    );
    let allow_team_clients = policy(
        "echoes",
        json!({"podSelector": {}, "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"env": "prod"}},
         "podSelector": {"matchLabels": {"role": "client"}}}]}]}),
    );
    let allow_by_name = policy(
        "echoes",
        json!({"podSelector": {}, "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "default"}}}]}]}),
    );
    let allow_same_ns = policy(
        "echoes",
        json!({"podSelector": {}, "ingress": [{"from": [
        {"podSelector": {}}]}]}),
    );
    let egress_only = policy(
        "echoes",
        json!({"podSelector": {}, "policyTypes": ["Egress"]}),
    );
    let c = ("10.244.0.5:40000", Some(&client));
    let tc = ("10.244.0.6:40000", Some(&team_client));
    let ts = ("10.244.0.7:40000", Some(&team_server));
    let o = ("10.244.1.9:40000", Some(&other));
    let e = ("10.244.1.8:7000", Some(&echo));
    let table: Vec<Case> = vec![
        ("no policy", vec![], c, true),
        ("deny selects echo", vec![deny_echo.clone()], c, false),
        (
            "deny also from its own namespace",
            vec![deny_echo.clone()],
            o,
            false,
        ),
        (
            "namespace selector, prod",
            vec![deny_echo.clone(), allow_team.clone()],
            tc,
            true,
        ),
        (
            "namespace selector, not prod",
            vec![allow_team.clone()],
            c,
            false,
        ),
        (
            "both selectors, client",
            vec![allow_team_clients.clone()],
            tc,
            true,
        ),
        (
            "both selectors, server",
            vec![allow_team_clients.clone()],
            ts,
            false,
        ),
        ("metadata.name label", vec![allow_by_name], c, true),
        (
            "pod selector alone: own namespace",
            vec![allow_same_ns.clone()],
            o,
            true,
        ),
        (
            "pod selector alone: not another",
            vec![allow_same_ns],
            tc,
            false,
        ),
        (
            "egress-only policy leaves ingress open",
            vec![egress_only],
            c,
            true,
        ),
        (
            "unknown source matches no selector",
            vec![allow_team.clone()],
            ("10.244.0.9:1", None),
            false,
        ),
        (
            "unknown labels, known namespace",
            vec![allow_team],
            ("10.244.0.9:1", Some(&team_unknown)),
            true,
        ),
        (
            "unknown labels match no pod selector",
            vec![allow_team_clients],
            ("10.244.0.9:1", Some(&team_unknown)),
            false,
        ),
    ];
    for (name, policies, from, want) in table {
        assert_eq!(
            decide(&tables(policies), Proto::Tcp, from, e),
            want,
            "{name}"
        );
    }
    // A pod whose labels are not known yet is isolated by every policy of its namespace.
    let unknown = PodIdentity {
        labels: None,
        ..pod("echoes", &[])
    };
    let gap = decide(
        &tables(vec![deny_echo.clone()]),
        Proto::Tcp,
        c,
        ("10.244.1.9:7000", Some(&unknown)),
    );
    assert!(!gap, "unknown labels fail closed");
    // A pod no policy selects stays open.
    let open = decide(
        &tables(vec![deny_echo]),
        Proto::Tcp,
        c,
        ("10.244.1.9:7000", Some(&other)),
    );
    assert!(open, "an unselected pod is not isolated");
}

#[test]
fn ports_match_by_protocol_number_range_and_name() {
    let server = pod("default", &[("app", "s")]);
    let with_ports = |ports: Value| {
        policy(
            "default",
            json!({"podSelector": {}, "ingress": [{"ports": ports}]}),
        )
    };
    let c = ("10.244.0.5:40000", None);
    let table = [
        (json!([{"port": 7000}]), Proto::Tcp, 7000, true),
        (json!([{"port": 7000}]), Proto::Udp, 7000, false),
        (
            json!([{"port": 7000, "protocol": "UDP"}]),
            Proto::Udp,
            7000,
            true,
        ),
        (json!([{"port": 7000}]), Proto::Tcp, 7001, false),
        (
            json!([{"port": 7000, "endPort": 7010}]),
            Proto::Tcp,
            7010,
            true,
        ),
        (
            json!([{"port": 7000, "endPort": 7010}]),
            Proto::Tcp,
            7011,
            false,
        ),
        (json!([{"protocol": "UDP"}]), Proto::Udp, 53, true),
        (json!([{"protocol": "UDP"}]), Proto::Tcp, 53, false),
        (json!([{"port": "web"}]), Proto::Tcp, 8080, true),
        (json!([{"port": "web"}]), Proto::Tcp, 8081, false),
        (
            json!([{"port": "web", "protocol": "UDP"}]),
            Proto::Udp,
            8080,
            false,
        ),
        (
            json!([{"port": 7000, "protocol": "SCTP"}]),
            Proto::Tcp,
            7000,
            false,
        ),
        (json!([]), Proto::Udp, 9, true),
    ];
    for (ports, proto, port, want) in table {
        let t = tables(vec![with_ports(ports.clone())]);
        let to = format!("10.244.1.8:{port}");
        assert_eq!(
            decide(&t, proto, c, (&to, Some(&server))),
            want,
            "{ports} {proto:?} {port}"
        );
    }
}

#[test]
fn policy_types_default_from_the_rules_given() {
    let ingress_only = policy("default", json!({"podSelector": {}}));
    assert!(ingress_only.ingress.is_some() && ingress_only.egress.is_none());
    let both = policy("default", json!({"podSelector": {}, "egress": [{}]}));
    assert!(both.ingress.is_some() && both.egress.is_some());
    let egress = policy(
        "default",
        json!({"podSelector": {}, "policyTypes": ["Egress"]}),
    );
    assert!(egress.ingress.is_none() && egress.egress.is_some());
}

mod egress;
