//! Validation and defaulting cases for NetworkPolicy, worded as kube-apiserver words them.

use serde_json::{Value, json};

use super::rules::{case, run};
use super::{info, with};
use crate::validate::apply_defaults;

const KIND: &str = "NetworkPolicy";

fn netpol() -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1", "kind": KIND,
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "ingress": [{"from": [
                {"namespaceSelector": {"matchLabels": {"env": "prod"}},
                 "podSelector": {"matchLabels": {"role": "client"}}},
                {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                "ports": [{"port": 80}, {"port": "http"}, {"port": 7000, "endPort": 7010, "protocol": "UDP"}]}],
            "egress": [{"to": [{"ipBlock": {"cidr": "127.0.0.9/32"}}]}],
            "policyTypes": ["Ingress", "Egress"]
        }
    })
}

#[test]
fn network_policy_rules() {
    let p = netpol;
    let port = "/spec/ingress/0/ports/0";
    let peer = "/spec/ingress/0/from/1";
    run(vec![
        case("good policy", KIND, p(), None),
        case(
            "empty spec selects all",
            KIND,
            with(p(), "/spec", json!({"podSelector": {}})),
            None,
        ),
        case(
            "port 0",
            KIND,
            with(p(), &format!("{port}/port"), json!(0)),
            Some((
                "spec.ingress[0].ports[0].port",
                "must be between 1 and 65535, inclusive",
            )),
        ),
        case(
            "port 65536",
            KIND,
            with(p(), &format!("{port}/port"), json!(65536)),
            Some((
                "spec.ingress[0].ports[0].port",
                "must be between 1 and 65535, inclusive",
            )),
        ),
        case(
            "bad port name",
            KIND,
            with(p(), &format!("{port}/port"), json!("Not_A_Name")),
            Some((
                "spec.ingress[0].ports[0].port",
                "must contain only alphanumeric characters",
            )),
        ),
        case(
            "endPort below port",
            KIND,
            with(p(), &format!("{port}/endPort"), json!(79)),
            Some((
                "spec.ingress[0].ports[0].endPort",
                "must be greater than or equal to `port`",
            )),
        ),
        case(
            "endPort with a named port",
            KIND,
            with(
                with(p(), &format!("{port}/port"), json!("http")),
                &format!("{port}/endPort"),
                json!(90),
            ),
            Some((
                "spec.ingress[0].ports[0].endPort",
                "may not be specified when `port` is non-numeric",
            )),
        ),
        case(
            "unknown protocol",
            KIND,
            with(p(), &format!("{port}/protocol"), json!("ICMP")),
            Some(("spec.ingress[0].ports[0].protocol", "supported values")),
        ),
        case(
            "bad cidr",
            KIND,
            with(p(), &format!("{peer}/ipBlock/cidr"), json!("10.0.0.0/33")),
            Some((
                "spec.ingress[0].from[1].ipBlock.cidr",
                "must be a valid CIDR",
            )),
        ),
        case(
            "cidr required",
            KIND,
            with(p(), &format!("{peer}/ipBlock/cidr"), json!("")),
            Some(("spec.ingress[0].from[1].ipBlock.cidr", "Required value")),
        ),
        case(
            "except outside the block",
            KIND,
            with(
                p(),
                &format!("{peer}/ipBlock/except/0"),
                json!("192.168.0.0/16"),
            ),
            Some((
                "spec.ingress[0].from[1].ipBlock.except[0]",
                "must be a strict subset of `cidr`",
            )),
        ),
        case(
            "except equal to the block",
            KIND,
            with(
                p(),
                &format!("{peer}/ipBlock/except/0"),
                json!("10.0.0.0/8"),
            ),
            Some((
                "spec.ingress[0].from[1].ipBlock.except[0]",
                "must be a strict subset of `cidr`",
            )),
        ),
        case(
            "except not a CIDR",
            KIND,
            with(p(), &format!("{peer}/ipBlock/except/0"), json!("10.1.0.0")),
            Some((
                "spec.ingress[0].from[1].ipBlock.except[0]",
                "must be a valid CIDR",
            )),
        ),
        case(
            "ipBlock and a selector",
            KIND,
            with(p(), &format!("{peer}/podSelector"), json!({})),
            Some((
                "spec.ingress[0].from[1]",
                "may not specify both ipBlock and another peer",
            )),
        ),
        case(
            "empty peer",
            KIND,
            with(p(), peer, json!({})),
            Some(("spec.ingress[0].from[1]", "must specify a peer")),
        ),
        case(
            "bad selector operator",
            KIND,
            with(
                p(),
                "/spec/podSelector",
                json!({"matchExpressions": [{"key": "a", "operator": "Near"}]}),
            ),
            Some((
                "spec.podSelector.matchExpressions[0].operator",
                "supported values",
            )),
        ),
        case(
            "unknown policy type",
            KIND,
            with(p(), "/spec/policyTypes/1", json!("Sideways")),
            Some(("spec.policyTypes[1]", "supported values")),
        ),
        case(
            "three policy types",
            KIND,
            with(p(), "/spec/policyTypes/2", json!("Ingress")),
            Some((
                "spec.policyTypes",
                "may not specify more than two policyTypes",
            )),
        ),
    ]);
}

#[test]
fn network_policy_defaults_policy_types_and_protocol() {
    let mut ingress_only =
        json!({"spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]}});
    apply_defaults(info(KIND), &mut ingress_only);
    assert_eq!(ingress_only["spec"]["policyTypes"], json!(["Ingress"]));
    assert_eq!(
        ingress_only["spec"]["ingress"][0]["ports"][0]["protocol"],
        "TCP"
    );
    let mut both = json!({"spec": {"podSelector": {}, "egress": [{}]}});
    apply_defaults(info(KIND), &mut both);
    assert_eq!(both["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    let mut given = json!({"spec": {"podSelector": {}, "egress": [{}], "policyTypes": ["Egress"]}});
    apply_defaults(info(KIND), &mut given);
    assert_eq!(given["spec"]["policyTypes"], json!(["Egress"]));
}
