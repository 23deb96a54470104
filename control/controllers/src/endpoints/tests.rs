//! Endpoints and EndpointSlices by table: readiness, terminating pods, named target ports,
//! port-set grouping, 100 endpoints per slice, the placeholder, idempotence.

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::{Value, json};

use super::{
    EndpointsPlan, MANAGED_BY, SERVICE_NAME, SlicePlan, reconcile_endpoints, reconcile_slices,
};
use crate::testutil::{St, T0, from, pod, terminating};

fn svc(extra: Value) -> Service {
    let mut v = json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "svc-uid", "labels": {"team": "a"}},
        "spec": {"selector": {"app": "web"}, "ports": [
            {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
            {"name": "metrics", "port": 9090, "targetPort": 9090, "protocol": "TCP"}]}
    });
    if let Value::Object(m) = extra {
        for (k, val) in m {
            v["spec"][k] = val;
        }
    }
    from(v)
}

/// A pod of the Service at `ip`; `named` gives it the container port named `http` (8080).
fn p(name: &str, ip: &str, st: St, named: bool) -> Pod {
    let mut p = pod(name, json!({"app": "web"}), None, st);
    p.status.as_mut().expect("status").pod_ip = Some(ip.into());
    if named {
        p.spec.as_mut().expect("spec").containers[0].ports =
            Some(vec![from(json!({"name": "http", "containerPort": 8080}))]);
    }
    p
}

fn ips(v: &Option<Vec<k8s_openapi::api::core::v1::EndpointAddress>>) -> Vec<&str> {
    v.iter().flatten().map(|a| a.ip.as_str()).collect()
}

#[test]
fn endpoints_group_ready_and_unready_by_port_set() {
    let mut no_ip = p("noip", "", St::Ready(T0), true);
    no_ip.status.as_mut().expect("status").pod_ip = None;
    let pods = vec![
        p("a", "10.0.0.2", St::Ready(T0), true),
        p("b", "10.0.0.1", St::Unready, true),
        terminating(p("c", "10.0.0.3", St::Ready(T0), true)),
        no_ip,
        p("e", "10.0.0.5", St::Ready(T0), false),
        pod("other", json!({"app": "db"}), None, St::Ready(T0)),
    ];
    let EndpointsPlan::Write(ep) = reconcile_endpoints(&svc(json!({})), &pods, None) else {
        panic!("write")
    };
    let subsets = ep.subsets.clone().expect("subsets");
    // Ports sort by name: {http:8080, metrics:9090} before {metrics:9090}.
    type Subset<'a> = (Vec<(&'a str, i32)>, Vec<&'a str>, Vec<&'a str>);
    let table: Vec<Subset> = vec![
        (
            vec![("http", 8080), ("metrics", 9090)],
            vec!["10.0.0.2"],
            vec!["10.0.0.1"],
        ),
        (vec![("metrics", 9090)], vec!["10.0.0.5"], vec![]),
    ];
    assert_eq!(subsets.len(), table.len());
    for (s, (ports, ready, unready)) in subsets.iter().zip(table) {
        let got: Vec<(&str, i32)> = s
            .ports
            .iter()
            .flatten()
            .map(|p| (p.name.as_deref().unwrap_or(""), p.port))
            .collect();
        assert_eq!(
            (got, ips(&s.addresses), ips(&s.not_ready_addresses)),
            (ports, ready, unready)
        );
    }
    let a = &subsets[0].addresses.as_ref().expect("addresses")[0];
    assert_eq!(
        a.target_ref.as_ref().and_then(|r| r.name.as_deref()),
        Some("a")
    );
    assert_eq!(a.node_name.as_deref(), Some("n1"));
    let labels = ep.metadata.labels.clone().expect("labels");
    assert_eq!(
        labels.get(super::ENDPOINTS_MANAGED_BY).map(String::as_str),
        Some("endpoint-controller")
    );
    assert_eq!(labels.get("team").map(String::as_str), Some("a"));
    assert_eq!(
        reconcile_endpoints(&svc(json!({})), &pods, Some(&ep)),
        EndpointsPlan::Leave
    );
}

#[test]
fn publish_not_ready_addresses_lists_every_pod_as_ready() {
    let pods = vec![
        p("b", "10.0.0.1", St::Unready, true),
        terminating(p("c", "10.0.0.3", St::Unready, true)),
    ];
    let EndpointsPlan::Write(ep) =
        reconcile_endpoints(&svc(json!({"publishNotReadyAddresses": true})), &pods, None)
    else {
        panic!("write")
    };
    let s = &ep.subsets.expect("subsets")[0];
    assert_eq!(
        (ips(&s.addresses), ips(&s.not_ready_addresses)),
        (vec!["10.0.0.1", "10.0.0.3"], vec![])
    );
}

#[test]
fn services_without_selector_are_left_alone() {
    let mut s = svc(json!({}));
    s.spec.as_mut().expect("spec").selector = None;
    let pods = vec![p("a", "10.0.0.2", St::Ready(T0), true)];
    assert_eq!(reconcile_endpoints(&s, &pods, None), EndpointsPlan::Leave);
    assert_eq!(reconcile_slices(&s, &pods, &[]), None);
}

fn conditions(s: &EndpointSlice) -> Vec<(&str, bool, bool, bool)> {
    s.endpoints
        .iter()
        .map(|e| {
            let c = e.conditions.clone().unwrap_or_default();
            (
                e.addresses[0].as_str(),
                c.ready == Some(true),
                c.serving == Some(true),
                c.terminating == Some(true),
            )
        })
        .collect()
}

#[test]
fn slices_carry_ready_serving_terminating_and_labels() {
    let pods = vec![
        p("a", "10.0.0.2", St::Ready(T0), true),
        p("b", "10.0.0.1", St::Unready, true),
        terminating(p("c", "10.0.0.3", St::Ready(T0), true)),
        p("v6", "fd00::1", St::Ready(T0), true),
    ];
    let plan = reconcile_slices(&svc(json!({})), &pods, &[]).expect("plan");
    assert_eq!(plan.create.len(), 1);
    let s = &plan.create[0];
    // (address, ready, serving, terminating)
    assert_eq!(
        conditions(s),
        vec![
            ("10.0.0.1", false, false, false),
            ("10.0.0.2", true, true, false),
            ("10.0.0.3", false, true, true)
        ]
    );
    let labels = s.metadata.labels.clone().expect("labels");
    assert_eq!(labels.get(SERVICE_NAME).map(String::as_str), Some("web"));
    assert_eq!(
        labels.get(MANAGED_BY).map(String::as_str),
        Some("endpointslice-controller.k8s.io")
    );
    assert_eq!(labels.get("team").map(String::as_str), Some("a"));
    assert_eq!(
        (s.address_type.as_str(), s.metadata.generate_name.as_deref()),
        ("IPv4", Some("web-"))
    );
    let ports: Vec<(Option<&str>, Option<i32>)> = s
        .ports
        .iter()
        .flatten()
        .map(|p| (p.name.as_deref(), p.port))
        .collect();
    assert_eq!(
        ports,
        vec![(Some("http"), Some(8080)), (Some("metrics"), Some(9090))]
    );
}

/// Gives created slices names, replaces updated ones, drops deleted ones.
fn apply(existing: &mut Vec<EndpointSlice>, plan: SlicePlan) {
    existing.retain(|s| {
        !plan
            .delete
            .contains(s.metadata.name.as_ref().expect("name"))
    });
    for u in plan.update {
        let slot = existing
            .iter_mut()
            .find(|s| s.metadata.name == u.metadata.name)
            .expect("slot");
        *slot = u;
    }
    for (i, mut c) in plan.create.into_iter().enumerate() {
        c.metadata.name = Some(format!("web-{}-{i}", existing.len()));
        existing.push(c);
    }
}

#[test]
fn slices_split_at_100_reuse_existing_and_settle() {
    // (pods, endpoints per slice after applying the plan)
    let table: Vec<(usize, Vec<usize>)> = vec![
        (250, vec![100, 100, 50]),
        (120, vec![100, 20]),
        (0, vec![0]),
        (3, vec![3]),
    ];
    let mut existing = Vec::new();
    for (n, want) in table {
        let pods: Vec<Pod> = (0..n)
            .map(|i| {
                p(
                    &format!("p{i:03}"),
                    &format!("10.1.{}.{}", i / 200, i % 200),
                    St::Ready(T0),
                    true,
                )
            })
            .collect();
        let plan = reconcile_slices(&svc(json!({})), &pods, &existing).expect("plan");
        apply(&mut existing, plan);
        let mut sizes: Vec<usize> = existing.iter().map(|s| s.endpoints.len()).collect();
        sizes.sort_by(|a, b| b.cmp(a));
        assert_eq!(sizes, want, "{n} pods");
        let again = reconcile_slices(&svc(json!({})), &pods, &existing).expect("plan");
        assert!(again.is_empty(), "{n} pods: {again:?}");
    }
}

#[test]
fn headless_services_are_labelled() {
    let s = svc(json!({"clusterIP": "None"}));
    let pods = vec![p("a", "10.0.0.2", St::Ready(T0), true)];
    let plan = reconcile_slices(&s, &pods, &[]).expect("plan");
    let labels = plan.create[0].metadata.labels.clone().expect("labels");
    assert_eq!(labels.get(super::HEADLESS).map(String::as_str), Some(""));
}
