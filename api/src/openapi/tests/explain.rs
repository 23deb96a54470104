//! What `kubectl explain` reads from a group/version document (kubectl's
//! `pkg/explain/v2/templates/plaintext.tmpl`): the kind's GVK on an operation, the one schema in
//! `components.schemas` tagged with that GVK, and fields found by following `properties`,
//! `items`, `additionalProperties`, `allOf` and `$ref`s that resolve inside the document.

use serde_json::{Value, json};

use super::doc;
use crate::resources::RESOURCES;

/// The document of `group`/`version`.
fn gv_doc(group: &str, version: &str) -> Value {
    if group.is_empty() {
        doc(&format!("api/{version}"))
    } else {
        doc(&format!("apis/{group}/{version}"))
    }
}

/// The schemas tagged with `gvk`, as the template's `contains` compares them (deep equality
/// with an element of the `x-kubernetes-group-version-kind` list).
fn tagged<'a>(doc: &'a Value, gvk: &Value) -> Vec<(&'a String, &'a Value)> {
    doc["components"]["schemas"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, s)| {
            s["x-kubernetes-group-version-kind"]
                .as_array()
                .is_some_and(|list| list.contains(gvk))
        })
        .collect()
}

/// The schema a `$ref` points at, if the schema is one.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.strip_prefix("#/components/schemas/").unwrap();
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// The schema of the field at `path` below `schema`, walked as kubectl walks it.
fn field<'a>(doc: &'a Value, schema: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(schema);
    };
    let resolved = resolve(doc, schema);
    if let Some(sub) = resolved["properties"].get(first) {
        return field(doc, sub, rest);
    }
    if let Some(items) = resolved.get("items") {
        return field(doc, items, path);
    }
    if let Some(values) = resolved
        .get("additionalProperties")
        .filter(|v| v.is_object())
    {
        return field(doc, values, path);
    }
    resolved["allOf"]
        .as_array()?
        .iter()
        .find_map(|s| field(doc, s, path))
}

/// The schema of `kind` in `group`/`version` and then of the field at `path`.
fn explain(group: &str, version: &str, kind: &str, path: &[&str]) -> Option<Value> {
    let doc = gv_doc(group, version);
    let gvk = json!({"group": group, "version": version, "kind": kind});
    let (_, schema) = tagged(&doc, &gvk).into_iter().next()?;
    field(&doc, schema, path).cloned()
}

/// Every `$ref` below `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(list) => list.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_served_kind_has_exactly_one_tagged_schema_with_a_description() {
    for r in RESOURCES {
        let doc = gv_doc(r.group, r.version);
        let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
        let found = tagged(&doc, &gvk);
        assert_eq!(found.len(), 1, "{gvk}: {:?}", found.iter().map(|f| f.0));
        let (name, schema) = found[0];
        assert!(name.ends_with(&format!(".{}", r.kind)), "{name}");
        assert!(
            !schema["description"].as_str().unwrap().is_empty(),
            "{name}"
        );
        for f in ["apiVersion", "kind", "metadata"] {
            assert!(schema["properties"].get(f).is_some(), "{name}.{f}");
        }
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        assert!(
            !required.contains(&json!("metadata")),
            "{name}: {required:?}"
        );
    }
    // The kind of deployments/scale is documented beside the operation that carries it.
    let apps = gv_doc("apps", "v1");
    let scale = json!({"group": "autoscaling", "version": "v1", "kind": "Scale"});
    assert_eq!(
        tagged(&apps, &scale)[0].0,
        "io.k8s.api.autoscaling.v1.Scale"
    );
}

#[test]
fn every_ref_resolves_inside_its_document() {
    for path in [
        "api/v1",
        "apis/apps/v1",
        "apis/batch/v1",
        "apis/autoscaling/v2",
    ] {
        let doc = doc(path);
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        assert!(schemas.values().all(Value::is_object), "{path}");
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 50, "{path}: {}", found.len());
        for r in found {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{path}: {r} does not point into components.schemas"));
            assert!(schemas.contains_key(name), "{path}: {r} is missing");
        }
    }
}

#[test]
fn documents_hold_the_schemas_reachable_from_their_kinds() {
    let core = gv_doc("", "v1");
    let schemas = core["components"]["schemas"].as_object().unwrap();
    for name in [
        "io.k8s.api.core.v1.PodSpec",
        "io.k8s.api.core.v1.Container",
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "io.k8s.apimachinery.pkg.api.resource.Quantity",
    ] {
        assert!(schemas.contains_key(name), "{name}");
    }
    assert!(!schemas.contains_key("io.k8s.api.apps.v1.Deployment"));
    let lease = gv_doc("coordination.k8s.io", "v1");
    let lease = lease["components"]["schemas"].as_object().unwrap();
    assert!(!lease.contains_key("io.k8s.api.core.v1.PodSpec"));
    assert!(lease.contains_key("io.k8s.api.coordination.v1.LeaseSpec"));
}

#[test]
fn field_paths_lead_to_types_and_descriptions() {
    let image = explain("", "v1", "Pod", &["spec", "containers", "image"]).unwrap();
    assert_eq!(image["type"], "string");
    assert!(
        image["description"]
            .as_str()
            .unwrap()
            .starts_with("Container image name."),
        "{image}"
    );
    // A field of a named type keeps its own description beside the reference, as
    // kube-apiserver writes it (`allOf` with one `$ref`).
    let spec = explain("", "v1", "Pod", &["spec"]).unwrap();
    assert_eq!(
        spec["allOf"],
        json!([{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}])
    );
    assert!(
        spec["description"]
            .as_str()
            .unwrap()
            .contains("desired behavior of the pod")
    );
    assert!(spec.get("$ref").is_none());

    let replicas = explain("apps", "v1", "Deployment", &["spec", "replicas"]).unwrap();
    assert_eq!(replicas["type"], "integer");
    let containers = ["spec", "template", "spec", "containers"];
    let containers = explain("apps", "v1", "Deployment", &containers).unwrap();
    assert_eq!(containers["type"], "array");
    let limits = [
        "spec",
        "template",
        "spec",
        "containers",
        "resources",
        "limits",
    ];
    let limits = explain("batch", "v1", "Job", &limits).unwrap();
    assert_eq!(
        limits["additionalProperties"]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity"
    );
    let ports = explain("", "v1", "Service", &["spec", "ports", "targetPort"]).unwrap();
    assert!(
        ports["description"]
            .as_str()
            .unwrap()
            .contains("Number or name")
    );
    let holder = ["spec", "holderIdentity"];
    assert!(explain("coordination.k8s.io", "v1", "Lease", &holder).is_some());
    let min = ["spec", "minReplicas"];
    assert!(explain("autoscaling", "v2", "HorizontalPodAutoscaler", &min).is_some());

    assert!(explain("", "v1", "Pod", &["spec", "nope"]).is_none());
    assert!(explain("", "v1", "Pod", &["spec", "containers", "nope"]).is_none());
}
