//! The `components.schemas` of the OpenAPI v3 documents, which `kubectl explain` reads: the
//! schemas k8s-openapi generates through `schemars` (Kubernetes' definition names and field
//! descriptions), shaped as kube-apiserver publishes them.
//!
//! One generator per group/version starts from the kinds that document's operations carry, so
//! a document holds exactly the schemas reachable from them. The generator's OpenAPI 3.0
//! settings point every `$ref` at `#/components/schemas/<name>` and move a `$ref` that has a
//! description beside it into `allOf`, as kube-apiserver does. Each kind's own schema is then
//! tagged with `x-kubernetes-group-version-kind`, which is how kubectl finds it.

use k8s_openapi::api::{
    apps, autoscaling, batch, coordination, core, discovery, events, networking, policy, rbac,
};
use k8s_openapi::schemars::JsonSchema;
use k8s_openapi::schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

/// A group/version/kind, as operations and schemas carry it.
pub(super) type Gvk = (&'static str, &'static str, &'static str);

/// The schemas reachable from `kinds`, each kind's schema tagged with its group/version/kind.
/// A kind with no Rust type here is skipped (the tests require one for every served kind).
pub(super) fn components(kinds: &[Gvk]) -> Map<String, Value> {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let tagged: Vec<(String, Gvk)> = kinds
        .iter()
        .filter_map(|&gvk| Some((add_kind(&mut generator, gvk)?, gvk)))
        .collect();
    let mut schemas = generator.take_definitions(true);
    for (name, (group, version, kind)) in tagged {
        let Some(Value::Object(schema)) = schemas.get_mut(&name) else {
            continue;
        };
        schema.insert(
            "x-kubernetes-group-version-kind".into(),
            json!([{"group": group, "kind": kind, "version": version}]),
        );
        drop_required_metadata(schema);
    }
    schemas
}

/// k8s-openapi lists `metadata` as required on every kind (its Rust field is not an `Option`);
/// Kubernetes' schemas do not, and `kubectl explain` would print `metadata ... -required-`.
fn drop_required_metadata(schema: &mut Map<String, Value>) {
    let Some(Value::Array(required)) = schema.get_mut("required") else {
        return;
    };
    required.retain(|field| field != "metadata");
    if required.is_empty() {
        schema.remove("required");
    }
}

/// Adds the schema of `T` (and every schema it refers to); returns its name.
fn add<T: JsonSchema + k8s_openapi::Resource>(
    generator: &mut SchemaGenerator,
    gvk: Gvk,
) -> Option<String> {
    // The table below pairs kinds with types by hand: a slip would tag the wrong schema.
    if (T::GROUP, T::VERSION, T::KIND) != gvk {
        return None;
    }
    generator.subschema_for::<T>();
    Some(T::schema_name().into_owned())
}

/// The Rust type of every kind a served document carries.
fn add_kind(g: &mut SchemaGenerator, gvk: Gvk) -> Option<String> {
    match gvk {
        ("", "v1", "Namespace") => add::<core::v1::Namespace>(g, gvk),
        ("", "v1", "Node") => add::<core::v1::Node>(g, gvk),
        ("", "v1", "Pod") => add::<core::v1::Pod>(g, gvk),
        ("", "v1", "Service") => add::<core::v1::Service>(g, gvk),
        ("", "v1", "Endpoints") => add::<core::v1::Endpoints>(g, gvk),
        ("", "v1", "ConfigMap") => add::<core::v1::ConfigMap>(g, gvk),
        ("", "v1", "Secret") => add::<core::v1::Secret>(g, gvk),
        ("", "v1", "Event") => add::<core::v1::Event>(g, gvk),
        ("events.k8s.io", "v1", "Event") => add::<events::v1::Event>(g, gvk),
        ("", "v1", "ServiceAccount") => add::<core::v1::ServiceAccount>(g, gvk),
        ("apps", "v1", "Deployment") => add::<apps::v1::Deployment>(g, gvk),
        ("", "v1", "ReplicationController") => add::<core::v1::ReplicationController>(g, gvk),
        ("apps", "v1", "ReplicaSet") => add::<apps::v1::ReplicaSet>(g, gvk),
        ("apps", "v1", "DaemonSet") => add::<apps::v1::DaemonSet>(g, gvk),
        ("apps", "v1", "ControllerRevision") => add::<apps::v1::ControllerRevision>(g, gvk),
        ("policy", "v1", "PodDisruptionBudget") => add::<policy::v1::PodDisruptionBudget>(g, gvk),
        ("networking.k8s.io", "v1", "NetworkPolicy") => {
            add::<networking::v1::NetworkPolicy>(g, gvk)
        }
        ("batch", "v1", "Job") => add::<batch::v1::Job>(g, gvk),
        ("batch", "v1", "CronJob") => add::<batch::v1::CronJob>(g, gvk),
        ("autoscaling", "v1", "Scale") => add::<autoscaling::v1::Scale>(g, gvk),
        ("autoscaling", "v2", "HorizontalPodAutoscaler") => {
            add::<autoscaling::v2::HorizontalPodAutoscaler>(g, gvk)
        }
        ("coordination.k8s.io", "v1", "Lease") => add::<coordination::v1::Lease>(g, gvk),
        ("discovery.k8s.io", "v1", "EndpointSlice") => add::<discovery::v1::EndpointSlice>(g, gvk),
        ("rbac.authorization.k8s.io", "v1", "Role") => add::<rbac::v1::Role>(g, gvk),
        ("rbac.authorization.k8s.io", "v1", "ClusterRole") => add::<rbac::v1::ClusterRole>(g, gvk),
        ("rbac.authorization.k8s.io", "v1", "RoleBinding") => add::<rbac::v1::RoleBinding>(g, gvk),
        ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding") => {
            add::<rbac::v1::ClusterRoleBinding>(g, gvk)
        }
        _ => None,
    }
}
