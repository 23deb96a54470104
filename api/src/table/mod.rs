//! Table output: the `meta.k8s.io/v1` `Table` kube-apiserver returns when kubectl asks for
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, with kubectl's columns per resource
//! (kubernetes `pkg/printers/internalversion/printers.go`). Like kube-apiserver, every row
//! carries the wide (`priority: 1`) cells too; kubectl drops them unless `-o wide`.
//!
//! # Layout
//! - `age`: timestamps and kubectl's `HumanDuration` ("5s", "3m12s", "2d3h").
//! - `fields`: reading fields of JSON objects; label, selector and container formatting.
//! - `pods`, `workloads`, `controllers`, `hpa`, `network`, `cluster`, `rbac`: the column sets and cells
//!   per resource.

mod age;
mod cluster;
mod controllers;
mod fields;
mod hpa;
mod network;
mod pods;
mod rbac;
mod workloads;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value, json};

use crate::resources::ResourceInfo;

pub use age::{human_duration, parse_rfc3339};

/// What each row's `object` holds: the `includeObject` query parameter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IncludeObject {
    /// `null`.
    None,
    /// The object's metadata as a `meta.k8s.io/v1` `PartialObjectMetadata` (the default; kubectl
    /// reads namespaces and labels from it for `-A` and `--show-labels`).
    #[default]
    Metadata,
    /// The whole object.
    Object,
}

impl IncludeObject {
    /// Parses `includeObject` (`None`, `Metadata`, `Object`); a missing or empty value is
    /// `Metadata`, an unknown one `None` (the caller answers 400).
    pub fn parse(value: Option<&str>) -> Option<Self> {
        match value.unwrap_or("") {
            "" | "Metadata" => Some(Self::Metadata),
            "None" => Some(Self::None),
            "Object" => Some(Self::Object),
            _ => None,
        }
    }
}

/// One column definition, as in `TableColumnDefinition`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Column {
    name: &'static str,
    /// OpenAPI type: `string`, `integer`, `boolean`, `date`.
    ty: &'static str,
    /// `name` for the column holding object names, else empty.
    format: &'static str,
    /// 0 shows by default; 1 only with `-o wide`.
    priority: u8,
    description: &'static str,
}

/// A column shown by default.
const fn col(name: &'static str, ty: &'static str, description: &'static str) -> Column {
    Column {
        name,
        ty,
        format: "",
        priority: 0,
        description,
    }
}

/// A column shown only with `-o wide`.
const fn wide(name: &'static str, ty: &'static str, description: &'static str) -> Column {
    Column {
        priority: 1,
        ..col(name, ty, description)
    }
}

/// The `Name` column every table but events' starts with.
const NAME: Column = Column {
    format: "name",
    ..col(
        "Name",
        "string",
        "Name must be unique within a namespace. Cannot be updated.",
    )
};

/// The `Age` column.
const AGE: Column = col(
    "Age",
    "string",
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
);
/// The template's containers and images of a workload (wide output).
const CONTAINERS: Column = wide(
    "Containers",
    "string",
    "Names of each container in the template.",
);
const IMAGES: Column = wide(
    "Images",
    "string",
    "Images referenced by each container in the template.",
);

/// The cells of one row and, for finished pods, the row's conditions.
pub(crate) struct Row {
    cells: Vec<Value>,
    conditions: Option<Value>,
}

impl From<Vec<Value>> for Row {
    fn from(cells: Vec<Value>) -> Self {
        Row {
            cells,
            conditions: None,
        }
    }
}

/// The columns of a resource and how to compute one object's row at time `now` (Unix seconds).
type Printer = (&'static [Column], fn(&Value, i64) -> Row);

/// The printer of a resource: kubectl's columns for the kinds skiff serves, `Name`/`Age` for
/// anything else.
fn printer(info: &ResourceInfo) -> Printer {
    match (info.group, info.plural) {
        ("", "pods") => (pods::COLUMNS, pods::row),
        ("", "services") => (network::SERVICE, network::service),
        ("", "endpoints") => (network::ENDPOINTS, network::endpoints),
        ("networking.k8s.io", "networkpolicies") => {
            (network::NETWORK_POLICY, network::network_policy)
        }
        ("discovery.k8s.io", "endpointslices") => {
            (network::ENDPOINT_SLICE, network::endpoint_slice)
        }
        ("", "nodes") => (cluster::NODE, cluster::node),
        ("", "namespaces") => (cluster::NAMESPACE, cluster::namespace),
        ("", "events") => (cluster::EVENT, cluster::event),
        ("", "configmaps") => (cluster::CONFIG_MAP, cluster::config_map),
        ("", "secrets") => (cluster::SECRET, cluster::secret),
        ("", "serviceaccounts") => (cluster::SERVICE_ACCOUNT, cluster::service_account),
        ("coordination.k8s.io", "leases") => (cluster::LEASE, cluster::lease),
        ("apps", "deployments") => (workloads::DEPLOYMENT, workloads::deployment),
        ("apps", "replicasets") => (workloads::REPLICA_SET, workloads::replica_set),
        ("apps", "daemonsets") => (controllers::DAEMON_SET, controllers::daemon_set),
        ("apps", "controllerrevisions") => (
            controllers::CONTROLLER_REVISION,
            controllers::controller_revision,
        ),
        ("", "replicationcontrollers") => (
            controllers::REPLICATION_CONTROLLER,
            controllers::replication_controller,
        ),
        ("policy", "poddisruptionbudgets") => (
            controllers::POD_DISRUPTION_BUDGET,
            controllers::pod_disruption_budget,
        ),
        ("batch", "jobs") => (workloads::JOB, workloads::job),
        ("batch", "cronjobs") => (workloads::CRON_JOB, workloads::cron_job),
        ("autoscaling", "horizontalpodautoscalers") => (hpa::COLUMNS, hpa::row),
        (crate::rbac::GROUP, "roles" | "clusterroles") => (rbac::ROLE, rbac::role),
        (crate::rbac::GROUP, "rolebindings" | "clusterrolebindings") => {
            (rbac::BINDING, rbac::binding)
        }
        _ => (GENERIC, generic),
    }
}

const GENERIC: &[Column] = &[NAME, AGE];

fn generic(obj: &Value, now: i64) -> Row {
    vec![
        json!(fields::name(obj)),
        json!(age::since(&obj["metadata"]["creationTimestamp"], now)),
    ]
    .into()
}

/// A `meta.k8s.io/v1` `Table` of `objects` (all of resource `info`) with kubectl's columns.
/// `now_unix` is the current time in seconds, for ages; `list_meta` is the list's metadata
/// (`resourceVersion`, `continue`), `null` for none.
pub fn table(
    info: &ResourceInfo,
    objects: &[Value],
    include: IncludeObject,
    now_unix: i64,
    list_meta: Value,
) -> Value {
    let (columns, row_of) = printer(info);
    let column_definitions: Vec<Value> = columns
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "type": c.ty,
                "format": c.format,
                "description": c.description,
                "priority": c.priority,
            })
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let row = row_of(obj, now_unix);
            let mut out = Map::new();
            out.insert("cells".into(), Value::Array(row.cells));
            if let Some(conditions) = row.conditions {
                out.insert("conditions".into(), conditions);
            }
            out.insert("object".into(), row_object(obj, include));
            Value::Object(out)
        })
        .collect();
    let metadata = if list_meta.is_object() {
        list_meta
    } else {
        json!({})
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": column_definitions,
        "rows": rows,
    })
}

/// A row's `object` for `include`.
fn row_object(obj: &Value, include: IncludeObject) -> Value {
    match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Object => obj.clone(),
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    }
}
