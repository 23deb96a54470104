//! Egress by table: open until a policy selects the pod, then only what rules allow; an
//! address outside the overlay only through an explicit ipBlock (with except).

use super::*;

#[test]
fn egress_is_open_until_selected_then_only_what_rules_allow() {
    let client = pod("default", &[("app", "client")]);
    let echo = pod("echoes", &[("app", "echo")]);
    let block = policy(
        "default",
        json!({"podSelector": {"matchLabels": {"app": "client"}},
        "egress": [{"to": [{"ipBlock": {"cidr": "127.0.0.0/8", "except": ["127.0.0.99/32"]}}],
                    "ports": [{"port": 9000}]}]}),
    );
    let to_echo = policy(
        "default",
        json!({"podSelector": {}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "echo"}}}]}]}),
    );
    let deny_all = policy(
        "default",
        json!({"podSelector": {}, "policyTypes": ["Egress"]}),
    );
    let c = ("10.244.0.5:40000", Some(&client));
    let e = ("10.244.1.8:7000", Some(&echo));
    let table: Vec<Case> = vec![
        ("no policy, outside", vec![], ("127.0.0.9:9000", None), true),
        (
            "ipBlock covers it",
            vec![block.clone()],
            ("127.0.0.9:9000", None),
            true,
        ),
        (
            "ipBlock, wrong port",
            vec![block.clone()],
            ("127.0.0.9:9001", None),
            false,
        ),
        (
            "ipBlock except",
            vec![block.clone()],
            ("127.0.0.99:9000", None),
            false,
        ),
        (
            "ipBlock, other address",
            vec![block.clone()],
            ("192.0.2.1:9000", None),
            false,
        ),
        (
            "isolated by ipBlock policy, pod",
            vec![block.clone()],
            e,
            false,
        ),
        ("rules add up", vec![block, to_echo.clone()], e, true),
        (
            "selectors never match an outside address",
            vec![to_echo],
            ("127.0.0.9:9000", None),
            false,
        ),
        ("deny all", vec![deny_all], e, false),
    ];
    for (name, policies, to, want) in table {
        assert_eq!(decide(&tables(policies), Proto::Tcp, c, to), want, "{name}");
    }
}

#[test]
fn outside_addresses_need_an_explicit_egress_rule() {
    let client = pod("default", &[("app", "client")]);
    let other = pod("default", &[("app", "other")]);
    let block = policy(
        "default",
        json!({"podSelector": {"matchLabels": {"app": "client"}},
        "egress": [{"to": [{"ipBlock": {"cidr": "127.0.0.8/29", "except": ["127.0.0.15/32"]}}]}]}),
    );
    let all_egress = policy("default", json!({"podSelector": {}, "egress": [{}]}));
    let table: Vec<OutsideCase> = vec![
        ("no policy", vec![], Some(&client), "127.0.0.9:9000", false),
        (
            "ipBlock",
            vec![block.clone()],
            Some(&client),
            "127.0.0.9:9000",
            true,
        ),
        (
            "ipBlock except",
            vec![block.clone()],
            Some(&client),
            "127.0.0.15:9000",
            false,
        ),
        (
            "outside the block",
            vec![block.clone()],
            Some(&client),
            "127.0.0.1:9000",
            false,
        ),
        (
            "pod not selected",
            vec![block],
            Some(&other),
            "127.0.0.9:9000",
            false,
        ),
        (
            "a rule with no peers allows everything",
            vec![all_egress],
            Some(&other),
            "192.0.2.1:80",
            true,
        ),
        ("unknown pod", vec![], None, "127.0.0.9:9000", false),
    ];
    for (name, policies, pod, to, want) in table {
        let source = end(("10.244.0.5:40000", pod));
        let got = allows_outside(&tables(policies), Proto::Tcp, source, to.parse().unwrap());
        assert_eq!(got, want, "{name}");
    }
}
