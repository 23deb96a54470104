//! Who may depend on whom: each rule of ARCHITECTURE.md's code map about dependencies, read
//! from `cargo metadata`.

use std::collections::{BTreeMap, BTreeSet};

use super::{Package, workspace};

/// The crates of `control/` that hold or serve the state, and the workspace crates each may
/// depend on. A crate of `control/` not listed here is an API client (the scheduler, the
/// controllers, leader election): it may depend on `OTHER_CONTROL_CRATES` and on other API
/// clients only, never on these ("only the API server talks to etcd").
const CONTROL_LAYERS: &[(&str, &[&str])] = &[
    ("skiff-respond", &[]),
    ("skiff-store", &["skiff-sync"]),
    // The join's pinned `/cacerts` fetch is shared with the node agent through skiff-trust.
    ("skiff-pki", &["skiff-trust"]),
    ("skiff-registry", &["skiff-sync", "skiff-respond"]),
    // The dashboard's static files: a leaf the API server serves.
    ("skiff-dashboard", &[]),
    (
        "skiff-replica",
        &["skiff-sync", "skiff-store", "skiff-respond"],
    ),
    (
        "skiff-apiserver",
        &[
            "skiff-api",
            "skiff-sync",
            "skiff-store",
            "skiff-replica",
            "skiff-respond",
            "skiff-pki",
            "skiff-registry",
            "skiff-dashboard",
        ],
    ),
    // The assembled replica also runs the scheduler and the controller manager in-process.
    // They stay API clients: they reach its API server over `skiff-pipe` connections (HTTP,
    // bearer token), never by calling it.
    (
        "skiff-server",
        &[
            "skiff-pipe",
            "skiff-store",
            "skiff-replica",
            "skiff-respond",
            "skiff-pki",
            "skiff-apiserver",
            "skiff-scheduler",
            "skiff-controller-manager",
            "skiff-election",
        ],
    ),
];

/// What an API-client crate of `control/` may use from the workspace, besides other API
/// clients.
const OTHER_CONTROL_CRATES: &[&str] = &["skiff-api", "skiff-sync"];

/// The crates of `control/` that are API clients (not in `CONTROL_LAYERS`).
fn api_clients(packages: &BTreeMap<String, Package>) -> Vec<&str> {
    let layers: BTreeSet<&str> = CONTROL_LAYERS.iter().map(|(name, _)| *name).collect();
    control_crates(packages)
        .into_iter()
        .filter(|name| !layers.contains(name))
        .collect()
}

/// The workspace crates `name` depends on directly.
fn workspace_deps<'a>(packages: &'a BTreeMap<String, Package>, name: &str) -> Vec<&'a str> {
    packages[name]
        .deps
        .iter()
        .filter(|d| packages.contains_key(d.as_str()))
        .map(String::as_str)
        .collect()
}

/// The packages that depend directly on `dep`.
fn users_of<'a>(packages: &'a BTreeMap<String, Package>, dep: &str) -> BTreeSet<&'a str> {
    packages
        .iter()
        .filter(|(_, p)| p.deps.iter().any(|d| d == dep))
        .map(|(name, _)| name.as_str())
        .collect()
}

fn control_crates(packages: &BTreeMap<String, Package>) -> Vec<&str> {
    packages
        .iter()
        .filter(|(_, p)| p.dir.starts_with("control/"))
        .map(|(name, _)| name.as_str())
        .collect()
}

#[test]
fn control_crates_depend_only_on_the_layers_below() {
    let packages = workspace();
    let layers: BTreeMap<&str, &[&str]> = CONTROL_LAYERS.iter().copied().collect();
    let clients = api_clients(&packages);
    for name in control_crates(&packages) {
        let allowed: Vec<&str> = match layers.get(name) {
            Some(layer) => layer.to_vec(),
            None => OTHER_CONTROL_CRATES
                .iter()
                .chain(&clients)
                .copied()
                .collect(),
        };
        for dep in workspace_deps(&packages, name) {
            assert!(
                allowed.contains(&dep),
                "{name} depends on {dep}; ARCHITECTURE.md allows it only {allowed:?}"
            );
        }
    }
}

#[test]
fn openraft_stays_inside_the_store_and_the_replica() {
    let packages = workspace();
    let users = users_of(&packages, "openraft");
    assert_eq!(
        users,
        BTreeSet::from(["skiff-store", "skiff-replica"]),
        "only skiff-store and skiff-replica may depend on openraft"
    );
}

#[test]
fn redb_stays_inside_the_store() {
    let packages = workspace();
    let users = users_of(&packages, "redb");
    assert_eq!(users, BTreeSet::from(["skiff-store"]));
}

#[test]
fn the_store_speaks_no_http() {
    let packages = workspace();
    for dep in ["hyper", "http", "hyper-util", "rustls", "skiff-respond"] {
        assert!(
            !packages["skiff-store"].deps.iter().any(|d| d == dep),
            "skiff-store depends on {dep}: the store is called in-process"
        );
    }
}

#[test]
fn outside_control_only_the_assembled_server_is_used() {
    let packages = workspace();
    let control = control_crates(&packages);
    let clients = api_clients(&packages);
    for (name, package) in &packages {
        if package.dir.starts_with("control/") {
            continue;
        }
        for dep in workspace_deps(&packages, name) {
            assert!(
                !control.contains(&dep) || dep == "skiff-server" || clients.contains(&dep),
                "{name} depends on {dep}; outside control/ only skiff-server and the API \
                 clients may be used"
            );
        }
    }
}

#[test]
fn control_knows_nothing_of_wasmtime() {
    let packages = workspace();
    let mut seen = BTreeSet::new();
    let mut todo = control_crates(&packages);
    while let Some(name) = todo.pop() {
        if !seen.insert(name) {
            continue;
        }
        assert!(
            name != "skiff-runtime-wasm" && !packages[name].dir.starts_with("node/"),
            "the control plane reaches {name}"
        );
        let wasmtime = packages[name]
            .deps
            .iter()
            .find(|d| d.starts_with("wasmtime"));
        assert!(
            wasmtime.is_none(),
            "{name} (used by control/) depends on {wasmtime:?}"
        );
        todo.extend(workspace_deps(&packages, name));
    }
}

#[test]
fn the_pipe_is_transport_only() {
    let packages = workspace();
    assert_eq!(
        workspace_deps(&packages, "skiff-pipe"),
        Vec::<&str>::new(),
        "skiff-pipe carries HTTP; it may not know the API server or its callers"
    );
}

#[test]
fn the_pinned_fetch_stands_alone() {
    let packages = workspace();
    assert_eq!(
        workspace_deps(&packages, "skiff-trust"),
        Vec::<&str>::new(),
        "skiff-trust is shared by a replica's join and an agent's; it may know neither"
    );
}

#[test]
fn api_depends_on_nothing_else_in_the_workspace() {
    let packages = workspace();
    assert_eq!(workspace_deps(&packages, "skiff-api"), Vec::<&str>::new());
}

#[test]
fn runtime_wasm_knows_nothing_of_kubernetes_raft_or_routing() {
    let packages = workspace();
    for dep in workspace_deps(&packages, "skiff-runtime-wasm") {
        assert_eq!(dep, "skiff-sync", "skiff-runtime-wasm depends on {dep}");
    }
    for dep in ["k8s-openapi", "kube", "openraft"] {
        assert!(
            !packages["skiff-runtime-wasm"].deps.iter().any(|d| d == dep),
            "skiff-runtime-wasm depends on {dep}"
        );
    }
}

#[test]
fn the_node_agent_reaches_the_control_plane_only_through_the_api() {
    let packages = workspace();
    let control = control_crates(&packages);
    let node_crates: Vec<&str> = packages
        .iter()
        .filter(|(_, p)| p.dir.starts_with("node/"))
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(!node_crates.is_empty(), "no crate under node/");
    for name in node_crates {
        for dep in workspace_deps(&packages, name) {
            assert!(!control.contains(&dep), "{name} depends on {dep}");
        }
    }
}
