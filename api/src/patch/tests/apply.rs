//! Server-side apply: create when absent, managedFields encoding, conflicts and force,
//! removing fields a manager stops applying, shared ownership, and refused bodies.

use serde_json::{Value, json};

use crate::patch::{
    ApplyOptions, PatchError, PatchType, apply_patch, fields_of, from_fields_v1, record_update,
    stamp_managed_fields_time, to_fields_v1,
};

fn ssa(
    original: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
) -> Result<Value, PatchError> {
    let opts = ApplyOptions {
        field_manager: Some(manager.into()),
        force,
    };
    let body = serde_json::to_vec(applied).expect("serialisable");
    apply_patch("Deployment", original, &body, PatchType::Apply, &opts)
}

fn deploy(replicas: i64, containers: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
           "spec": {"replicas": replicas, "template": {"spec": {"containers": containers}}}})
}

fn without_managed_fields(mut v: Value) -> Value {
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    v
}

fn managers(v: &Value) -> Vec<(String, String)> {
    v["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["manager"].as_str().unwrap_or("").into(),
                e["operation"].as_str().unwrap_or("").into(),
            )
        })
        .collect()
}

#[test]
fn apply_creates_the_object_when_absent() {
    let applied = deploy(2, json!([{"name": "app", "image": "app.wasm"}]));
    let got = ssa(None, &applied, "kubectl", false).expect("creates");
    assert_eq!(without_managed_fields(got.clone()), applied);
    assert_eq!(
        got["metadata"]["managedFields"],
        json!([{"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}}])
    );
}

#[test]
fn apply_accepts_yaml_bodies() {
    let yaml =
        b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n";
    let opts = ApplyOptions {
        field_manager: Some("kubectl".into()),
        force: false,
    };
    let got = apply_patch("Deployment", None, yaml, PatchType::Apply, &opts).expect("creates");
    assert_eq!(got["spec"]["replicas"], 3);
}

#[test]
fn reapplying_by_the_same_manager_never_conflicts() {
    let first = ssa(
        None,
        &deploy(1, json!([{"name": "app", "image": "a1"}])),
        "kubectl",
        false,
    )
    .expect("creates");
    let second = ssa(
        Some(&first),
        &deploy(3, json!([{"name": "app", "image": "a2"}])),
        "kubectl",
        false,
    )
    .expect("updates");
    assert_eq!(second["spec"]["replicas"], 3);
    assert_eq!(
        second["spec"]["template"]["spec"]["containers"][0]["image"],
        "a2"
    );
    assert_eq!(managers(&second), vec![("kubectl".into(), "Apply".into())]);
}

#[test]
fn apply_conflicts_with_another_manager_unless_forced() {
    let mut created = deploy(1, json!([{"name": "app", "image": "a1"}]));
    record_update(
        "Deployment",
        None,
        &mut created,
        "kubectl-client-side-apply",
    );

    // Same values: shared ownership, no conflict.
    let shared = ssa(Some(&created), &deploy(1, json!([])), "kubectl", false)
        .expect("no conflict on equal values");
    assert_eq!(shared["spec"]["replicas"], 1);

    let err = ssa(Some(&created), &deploy(5, json!([])), "kubectl", false).expect_err("conflict");
    let PatchError::Conflict(conflicts) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(conflicts.len(), 1);
    assert_eq!(
        (
            conflicts[0].manager.as_str(),
            conflicts[0].api_version.as_str(),
            conflicts[0].field.as_str()
        ),
        ("kubectl-client-side-apply", "apps/v1", ".spec.replicas")
    );
    let status = err.to_api_error("deployments.apps", "web");
    assert_eq!((status.code, status.reason), (409, "Conflict"));
    assert_eq!(
        status.message,
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
    );
    assert_eq!(status.causes[0].kind, "FieldManagerConflict");

    let forced =
        ssa(Some(&created), &deploy(5, json!([])), "kubectl", true).expect("force takes the field");
    assert_eq!(forced["spec"]["replicas"], 5);
    let entries = forced["metadata"]["managedFields"]
        .as_array()
        .expect("entries")
        .clone();
    let csa = entries
        .iter()
        .find(|e| e["manager"] == "kubectl-client-side-apply")
        .expect("still owns the image");
    assert!(
        csa["fieldsV1"]["f:spec"].get("f:replicas").is_none(),
        "replicas changed hands: {csa}"
    );
    let mine = entries
        .iter()
        .find(|e| e["manager"] == "kubectl")
        .expect("apply entry");
    assert!(mine["fieldsV1"]["f:spec"].get("f:replicas").is_some());
}

#[test]
fn fields_a_manager_stops_applying_are_removed_unless_someone_else_owns_them() {
    let labelled = |labels: Value, containers: Value| {
        let mut d = deploy(1, containers);
        d["metadata"]["labels"] = labels;
        d
    };
    let two = json!([{"name": "app", "image": "a"}, {"name": "side", "image": "s"}]);
    let first = ssa(
        None,
        &labelled(json!({"a": "1", "b": "2"}), two),
        "kubectl",
        false,
    )
    .expect("creates");
    let second = ssa(
        Some(&first),
        &labelled(json!({"a": "1"}), json!([{"name": "app", "image": "a"}])),
        "kubectl",
        false,
    )
    .expect("applies");
    assert_eq!(second["metadata"]["labels"], json!({"a": "1"}));
    assert_eq!(
        second["spec"]["template"]["spec"]["containers"],
        json!([{"name": "app", "image": "a"}])
    );

    // Another manager sets label c and an env var on `app`; the applier never applied them.
    let mut edited = second.clone();
    edited["metadata"]["labels"]["c"] = json!("3");
    edited["spec"]["template"]["spec"]["containers"][0]["env"] =
        json!([{"name": "X", "value": "1"}]);
    record_update("Deployment", Some(&second), &mut edited, "kubectl-edit");
    let third = ssa(
        Some(&edited),
        &labelled(json!({}), json!([])),
        "kubectl",
        false,
    )
    .expect("applies");
    assert_eq!(third["metadata"]["labels"], json!({"c": "3"}));
    assert_eq!(
        third["spec"]["template"]["spec"]["containers"],
        json!([{"name": "app", "env": [{"name": "X", "value": "1"}]}]),
        "the container stays because kubectl-edit owns part of it"
    );
}

#[test]
fn refused_apply_bodies() {
    let applied = deploy(1, json!([]));
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        (
            "no field manager",
            serde_json::to_vec(&applied).unwrap_or_default(),
            None,
        ),
        (
            "empty field manager",
            serde_json::to_vec(&applied).unwrap_or_default(),
            Some(""),
        ),
        (
            "wrong kind",
            br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"}}"#.to_vec(),
            Some("m"),
        ),
        (
            "no apiVersion",
            br#"{"kind":"Deployment","metadata":{"name":"web"}}"#.to_vec(),
            Some("m"),
        ),
        ("not an object", b"[1,2]".to_vec(), Some("m")),
        ("neither JSON nor YAML", b"{: [".to_vec(), Some("m")),
    ];
    for (name, body, manager) in cases {
        let opts = ApplyOptions {
            field_manager: manager.map(str::to_owned),
            force: false,
        };
        let got = apply_patch("Deployment", None, &body, PatchType::Apply, &opts);
        assert!(
            matches!(got, Err(PatchError::BadRequest(_))),
            "{name}: {got:?}"
        );
    }
}

#[test]
fn fields_v1_round_trips_and_times_are_stamped() {
    let mut obj = deploy(
        1,
        json!([{"name": "app", "image": "a", "ports": [{"containerPort": 80}]}]),
    );
    obj["metadata"]["finalizers"] = json!(["x/y"]);
    let set = fields_of("Deployment", &obj);
    assert_eq!(from_fields_v1(&to_fields_v1(&set)), set);
    let encoded = to_fields_v1(&set);
    assert_eq!(
        encoded["f:metadata"],
        json!({"f:finalizers": {"v:\"x/y\"": {}}})
    );
    let port = &encoded["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"]["f:ports"];
    assert_eq!(
        port,
        &json!({"k:{\"containerPort\":80}": {".": {}, "f:containerPort": {}}})
    );

    let mut applied = ssa(None, &obj, "kubectl", false).expect("creates");
    stamp_managed_fields_time(&mut applied, "2025-01-01T00:00:00Z");
    assert_eq!(
        applied["metadata"]["managedFields"][0]["time"],
        "2025-01-01T00:00:00Z"
    );
    stamp_managed_fields_time(&mut applied, "later");
    assert_eq!(
        applied["metadata"]["managedFields"][0]["time"],
        "2025-01-01T00:00:00Z"
    );
}
