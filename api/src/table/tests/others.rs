//! Rows of the other served resources: services, endpoints, nodes, namespaces, events and
//! configuration objects.

use serde_json::json;

use super::{ago, columns, obj, row};

#[test]
fn services() {
    assert_eq!(
        columns("", "services"),
        [
            "Name",
            "Type",
            "Cluster-IP",
            "External-IP",
            "Port(s)",
            "Age",
            "Selector*"
        ]
    );
    let node_port = obj(
        "web",
        json!({"spec": {
        "type": "NodePort", "clusterIP": "10.43.0.10", "clusterIPs": ["10.43.0.10"],
        "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
        "selector": {"app": "web"}}}),
    );
    assert_eq!(
        row("", "services", &node_port),
        json!([
            "web",
            "NodePort",
            "10.43.0.10",
            "<none>",
            "80:30080/TCP,53/UDP",
            "3h2m",
            "app=web"
        ])
    );
    let lb = obj(
        "lb",
        json!({"spec": {"type": "LoadBalancer", "clusterIPs": ["10.43.0.11"],
        "ports": [{"port": 443, "nodePort": 31443}], "externalIPs": ["192.0.2.9"]},
        "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.2"}, {"hostname": "lb.example"}]}}}),
    );
    let r = row("", "services", &lb);
    assert_eq!(r[3], "198.51.100.2,lb.example,192.0.2.9");
    assert_eq!(r[4], "443:31443/TCP");
    assert_eq!(r[6], "<none>");
    let pending = obj("p", json!({"spec": {"type": "LoadBalancer"}}));
    assert_eq!(row("", "services", &pending)[3], "<pending>");
    let headless = obj(
        "h",
        json!({"spec": {"clusterIP": "None", "clusterIPs": ["None"]}}),
    );
    let r = row("", "services", &headless);
    assert_eq!(
        (&r[1], &r[2], &r[4]),
        (&json!("ClusterIP"), &json!("None"), &json!("<none>"))
    );
    let external = obj(
        "x",
        json!({"spec": {"type": "ExternalName", "externalName": "db.example"}}),
    );
    assert_eq!(row("", "services", &external)[3], "db.example");
}

#[test]
fn endpoints_and_slices() {
    let ep = obj(
        "web",
        json!({"subsets": [{
        "addresses": [{"ip": "10.42.0.1"}, {"ip": "10.42.0.2"}, {"ip": "fd00::3"}],
        "ports": [{"port": 8080}, {"port": 9090}]}]}),
    );
    assert_eq!(
        row("", "endpoints", &ep)[1],
        "10.42.0.1:8080,10.42.0.2:8080,[fd00::3]:8080 + 3 more..."
    );
    assert_eq!(row("", "endpoints", &obj("none", json!({})))[1], "<none>");
    assert_eq!(
        columns("discovery.k8s.io", "endpointslices"),
        ["Name", "AddressType", "Ports", "Endpoints", "Age"]
    );
    let slice = obj(
        "web-abc",
        json!({"addressType": "IPv4",
        "ports": [{"port": 8080, "name": "http"}, {"name": "metrics"}],
        "endpoints": [{"addresses": ["10.42.0.1"]}, {"addresses": ["10.42.0.2"]}]}),
    );
    assert_eq!(
        row("discovery.k8s.io", "endpointslices", &slice),
        json!([
            "web-abc",
            "IPv4",
            "8080,metrics",
            "10.42.0.1,10.42.0.2",
            "3h2m"
        ])
    );
    let empty = obj("e", json!({"addressType": "IPv4"}));
    assert_eq!(
        row("discovery.k8s.io", "endpointslices", &empty)[2],
        "<unset>"
    );
}

#[test]
fn nodes_and_namespaces() {
    assert_eq!(
        columns("", "nodes"),
        [
            "Name",
            "Status",
            "Roles",
            "Age",
            "Version",
            "Internal-IP*",
            "External-IP*",
            "OS-Image*",
            "Kernel-Version*",
            "Container-Runtime*"
        ]
    );
    let node = json!({
        "metadata": {"name": "edge-1", "creationTimestamp": ago(9 * 86_400),
                     "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "edge"}},
        "spec": {"unschedulable": true},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
                   "addresses": [{"type": "InternalIP", "address": "192.168.1.5"}],
                   "nodeInfo": {"kubeletVersion": "v1.33.0-skiff", "osImage": "skiff", "containerRuntimeVersion": "wasmtime://48.0"}}
    });
    assert_eq!(
        row("", "nodes", &node),
        json!([
            "edge-1",
            "Ready,SchedulingDisabled",
            "control-plane,edge",
            "9d",
            "v1.33.0-skiff",
            "192.168.1.5",
            "<none>",
            "skiff",
            "<unknown>",
            "wasmtime://48.0"
        ])
    );
    let bare = json!({"metadata": {"name": "n"}});
    let r = row("", "nodes", &bare);
    assert_eq!(
        (&r[1], &r[2], &r[3]),
        (&json!("Unknown"), &json!("<none>"), &json!("<unknown>"))
    );

    assert_eq!(columns("", "namespaces"), ["Name", "Status", "Age"]);
    let ns = json!({"metadata": {"name": "prod", "creationTimestamp": ago(50)}, "status": {"phase": "Active"}});
    assert_eq!(row("", "namespaces", &ns), json!(["prod", "Active", "50s"]));
}

#[test]
fn events() {
    assert_eq!(
        columns("", "events"),
        [
            "Last Seen",
            "Type",
            "Reason",
            "Object",
            "Subobject*",
            "Source*",
            "Message",
            "First Seen*",
            "Count*",
            "Name*"
        ]
    );
    let ev = json!({
        "metadata": {"name": "web.17c2", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
        "reason": "BackOff", "type": "Warning", "message": "Back-off restarting failed container\n",
        "source": {"component": "kubelet", "host": "edge-1"},
        "firstTimestamp": ago(600), "lastTimestamp": ago(30), "count": 5
    });
    assert_eq!(
        row("", "events", &ev),
        json!([
            "30s",
            "Warning",
            "BackOff",
            "pod/web",
            "spec.containers{app}",
            "kubelet, edge-1",
            "Back-off restarting failed container",
            "10m",
            5,
            "web.17c2"
        ])
    );
    let new_style = json!({
        "metadata": {"name": "e2"}, "involvedObject": {"kind": "Node"},
        "reason": "Starting", "type": "Normal", "message": "started",
        "eventTime": "2024-05-01T11:59:00.000000Z", "reportingComponent": "skiff-agent",
        "series": {"count": 3, "lastObservedTime": "2024-05-01T11:59:50.000000Z"}
    });
    let r = row("", "events", &new_style);
    assert_eq!(
        (&r[0], &r[3], &r[5], &r[7], &r[8]),
        (
            &json!("10s"),
            &json!("node"),
            &json!("skiff-agent"),
            &json!("60s"),
            &json!(3)
        )
    );
    let bare = json!({"metadata": {"name": "e3"}, "involvedObject": {"kind": "Pod", "name": "p"}});
    let r = row("", "events", &bare);
    assert_eq!(
        (&r[0], &r[7], &r[8]),
        (&json!("<unknown>"), &json!("<unknown>"), &json!(1))
    );
}

#[test]
fn configuration_objects() {
    assert_eq!(columns("", "configmaps"), ["Name", "Data", "Age"]);
    let cm = obj(
        "cfg",
        json!({"data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}),
    );
    assert_eq!(row("", "configmaps", &cm), json!(["cfg", 3, "3h2m"]));
    assert_eq!(columns("", "secrets"), ["Name", "Type", "Data", "Age"]);
    let s = obj(
        "tls",
        json!({"type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}),
    );
    assert_eq!(
        row("", "secrets", &s),
        json!(["tls", "kubernetes.io/tls", 2, "3h2m"])
    );
    assert_eq!(columns("", "serviceaccounts"), ["Name", "Secrets", "Age"]);
    assert_eq!(
        row("", "serviceaccounts", &obj("default", json!({}))),
        json!(["default", 0, "3h2m"])
    );
    assert_eq!(
        columns("coordination.k8s.io", "leases"),
        ["Name", "Holder", "Age"]
    );
    let lease = obj(
        "edge-1",
        json!({"spec": {"holderIdentity": "edge-1", "leaseDurationSeconds": 40}}),
    );
    assert_eq!(
        row("coordination.k8s.io", "leases", &lease),
        json!(["edge-1", "edge-1", "3h2m"])
    );
}
