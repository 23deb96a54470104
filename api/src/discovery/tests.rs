//! Tests of the discovery documents: shapes as kube-apiserver writes them, and every resource in
//! `RESOURCES` advertised with its verbs, short names, categories and subresources.

use serde_json::{Value, json};

use super::*;

fn find<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {}", list["groupVersion"]))
}

#[test]
fn version_names_minor_33() {
    let v = version_info();
    assert_eq!(v["major"], "1");
    assert_eq!(v["minor"], "33");
    assert_eq!(v["gitVersion"], "v1.33.0-skiff");
    let platform = v["platform"].as_str().unwrap();
    assert!(
        platform.contains('/') && !platform.contains("x86_64"),
        "{platform}"
    );
}

#[test]
fn core_and_group_lists() {
    let api = api_versions("10.0.0.1:6443");
    assert_eq!(api["kind"], "APIVersions");
    assert_eq!(api["versions"], json!(["v1"]));
    assert_eq!(
        api["serverAddressByClientCIDRs"][0]["serverAddress"],
        "10.0.0.1:6443"
    );

    let list = api_group_list();
    assert_eq!(
        (&list["kind"], &list["apiVersion"]),
        (&json!("APIGroupList"), &json!("v1"))
    );
    let groups = list["groups"].as_array().unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "apps",
            "batch",
            "autoscaling",
            "policy",
            "coordination.k8s.io",
            "networking.k8s.io",
            "discovery.k8s.io",
            "rbac.authorization.k8s.io",
            "events.k8s.io",
            "authentication.k8s.io",
            "authorization.k8s.io",
            "metrics.k8s.io"
        ]
    );
    assert_eq!(
        groups[2]["preferredVersion"],
        json!({"groupVersion": "autoscaling/v2", "version": "v2"})
    );
    assert_eq!(
        groups[0]["versions"],
        json!([{"groupVersion": "apps/v1", "version": "v1"}])
    );
}

#[test]
fn one_group() {
    let apps = api_group("apps").unwrap();
    assert_eq!(apps["kind"], "APIGroup");
    assert_eq!(apps["name"], "apps");
    assert_eq!(apps["preferredVersion"]["groupVersion"], "apps/v1");
    assert!(api_group("").is_none());
    assert!(api_group("extensions").is_none());
}

#[test]
fn every_resource_is_advertised() {
    for r in RESOURCES {
        let list = resource_list(r.group, r.version).unwrap();
        assert_eq!(list["kind"], "APIResourceList");
        assert_eq!(list["groupVersion"], r.api_version());
        let e = find(&list, r.plural);
        assert_eq!(e["singularName"], r.singular);
        assert_eq!(e["namespaced"], r.namespaced);
        assert_eq!(e["kind"], r.kind);
        assert_eq!(e["verbs"], json!(r.verbs()));
        if r.short_names.is_empty() {
            assert!(e.get("shortNames").is_none());
        } else {
            assert_eq!(e["shortNames"], json!(r.short_names));
        }
        if r.categories.is_empty() {
            assert!(e.get("categories").is_none());
        } else {
            assert_eq!(e["categories"], json!(r.categories));
        }
        for sub in r.subresources {
            let s = find(&list, &format!("{}/{sub}", r.plural));
            assert_eq!(s["namespaced"], r.namespaced);
            assert_eq!(s["singularName"], "");
        }
    }
    assert!(resource_list("apps", "v2").is_none());
    assert!(resource_list("", "v2").is_none());
}

#[test]
fn subresource_kinds_and_verbs() {
    let core = resource_list("", "v1").unwrap();
    assert_eq!(core["groupVersion"], "v1");
    assert_eq!(
        find(&core, "pods/status"),
        &json!({"name": "pods/status", "singularName": "", "namespaced": true, "kind": "Pod",
                "verbs": ["get", "patch", "update"]})
    );
    assert_eq!(find(&core, "pods/log")["verbs"], json!(["get"]));
    let binding = find(&core, "pods/binding");
    assert_eq!(
        (&binding["kind"], &binding["verbs"]),
        (&json!("Binding"), &json!(["create"]))
    );
    assert_eq!(
        find(&core, "namespaces/finalize")["verbs"],
        json!(["update"])
    );
    assert_eq!(find(&core, "namespaces/finalize")["namespaced"], false);

    let apps = resource_list("apps", "v1").unwrap();
    let scale = find(&apps, "deployments/scale");
    assert_eq!(
        scale,
        &json!({"name": "deployments/scale", "singularName": "", "namespaced": true,
                "group": "autoscaling", "version": "v1", "kind": "Scale",
                "verbs": ["get", "patch", "update"]})
    );
    assert_eq!(find(&apps, "replicasets/scale")["kind"], "Scale");
}

#[test]
fn get_all_is_the_all_category() {
    let mut all: Vec<&str> = Vec::new();
    for (group, version) in std::iter::once(("", "v1")).chain(resources::groups()) {
        let list = resource_list(group, version).unwrap();
        for r in list["resources"].as_array().unwrap() {
            if r["categories"]
                .as_array()
                .is_some_and(|c| c.contains(&json!("all")))
            {
                all.push(
                    RESOURCES
                        .iter()
                        .find(|x| x.plural == r["name"])
                        .unwrap()
                        .plural,
                );
            }
        }
    }
    assert_eq!(
        all,
        [
            "pods",
            "services",
            "replicationcontrollers",
            "deployments",
            "replicasets",
            "daemonsets",
            "jobs",
            "cronjobs",
            "horizontalpodautoscalers"
        ]
    );
}

#[test]
fn aggregated_discovery() {
    let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,\
                   application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    assert!(accepts_aggregated(kubectl));
    assert!(!accepts_aggregated("application/json, */*"));
    assert!(!accepts_aggregated(
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
    ));
    assert_eq!(
        AGGREGATED_CONTENT_TYPE,
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );

    let core = aggregated(true);
    assert_eq!(core["kind"], "APIGroupDiscoveryList");
    assert_eq!(core["apiVersion"], "apidiscovery.k8s.io/v2");
    let items = core["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert!(items[0]["metadata"].get("name").is_none());
    let v1 = &items[0]["versions"][0];
    assert_eq!(
        (&v1["version"], &v1["freshness"]),
        (&json!("v1"), &json!("Current"))
    );
    let pods = v1["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "pods")
        .unwrap();
    assert_eq!(pods["scope"], "Namespaced");
    assert_eq!(
        pods["responseKind"],
        json!({"group": "", "version": "v1", "kind": "Pod"})
    );
    assert_eq!(pods["shortNames"], json!(["po"]));
    assert_eq!(
        pods["subresources"][1],
        json!({"subresource": "binding", "responseKind": {"group": "", "version": "v1", "kind": "Binding"},
               "verbs": ["create"]})
    );

    let apis = aggregated(false);
    let groups = apis["items"].as_array().unwrap();
    // Every stored group, then the two review groups (six resources) and metrics.k8s.io (two),
    // none of them in the table.
    assert_eq!(groups.len(), resources::groups().len() + 3);
    assert_eq!(groups.last().unwrap()["metadata"]["name"], "metrics.k8s.io");
    assert_eq!(groups[0]["metadata"]["name"], "apps");
    let deploy = &groups[0]["versions"][0]["resources"][0];
    assert_eq!(deploy["resource"], "deployments");
    assert_eq!(
        deploy["subresources"][1]["responseKind"],
        json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
    );
    let total: usize = groups
        .iter()
        .chain(items)
        .map(|g| g["versions"][0]["resources"].as_array().unwrap().len())
        .sum();
    assert_eq!(total, RESOURCES.len() + 6 + 2);
}
