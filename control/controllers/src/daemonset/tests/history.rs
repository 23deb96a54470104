//! The ControllerRevision history of a DaemonSet by table: a first revision, an unchanged
//! template planning nothing, a new template numbered one past the newest, an undo renumbering
//! the old revision, old revisions over the limit deleted unless a pod still uses them, and
//! orphans claimed as kube's ControllerRefManager claims them.

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use serde_json::{Value, json};

use super::{dp, ds, hash_of};
use crate::daemonset::history::{HistoryPlan, plan, revision_data};
use crate::testutil::{NO_PODS, from};

fn with_image(image: &str, limit: Option<i32>) -> DaemonSet {
    let mut d = ds(json!(null), json!(null));
    let spec = d.spec.as_mut().expect("spec");
    spec.revision_history_limit = limit;
    let pod = spec.template.spec.as_mut().expect("pod spec");
    pod.containers[0].image = Some(image.into());
    d
}

/// The revision `plan` would make for `d`, numbered `revision`, as the API server returns it.
fn stored(d: &DaemonSet, revision: i64) -> ControllerRevision {
    let made = plan(d, &[], NO_PODS)
        .expect("plan")
        .create
        .expect("a revision");
    let mut v = serde_json::to_value(made).expect("json");
    v["revision"] = json!(revision);
    from(v)
}

fn names(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn the_first_revision_replaces_the_template_and_labels_its_hash() {
    let d = with_image("v1.wasm", None);
    let p = plan(&d, &[], NO_PODS).expect("plan");
    let cr = p.create.expect("a revision");
    let h = hash_of(&d);
    assert_eq!(p.hash, h);
    assert_eq!(
        cr.metadata.name.as_deref(),
        Some(format!("agent-{h}").as_str())
    );
    assert_eq!(cr.revision, 1);
    let labels = cr.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("controller-revision-hash"), Some(&h));
    assert_eq!(
        labels.get("app").map(String::as_str),
        Some("agent"),
        "matches the selector"
    );
    let owner = &cr.metadata.owner_references.clone().unwrap_or_default()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("DaemonSet", Some(true))
    );
    let data: &Value = &cr.data.as_ref().expect("data").0;
    assert_eq!(data["spec"]["template"]["$patch"], "replace");
    assert_eq!(
        data["spec"]["template"]["spec"]["containers"][0]["image"],
        "v1.wasm"
    );
}

#[test]
fn history_table() {
    let (v1, v2, v3) = (
        with_image("v1.wasm", Some(1)),
        with_image("v2.wasm", Some(1)),
        with_image("v3.wasm", Some(1)),
    );
    let (r1, r2, r3) = (stored(&v1, 1), stored(&v2, 2), stored(&v3, 3));
    let name = |cr: &ControllerRevision| cr.metadata.name.clone().expect("name");
    // (template, revisions, pods' hashes) -> (created revision number, renumbered, deleted)
    type Case = (
        DaemonSet,
        Vec<ControllerRevision>,
        Vec<String>,
        (Option<i64>, Option<(String, i64)>, Vec<String>),
    );
    let table: Vec<Case> = vec![
        // Unchanged: nothing to do.
        (
            v2.clone(),
            vec![r1.clone(), r2.clone()],
            vec![hash_of(&v1)],
            (None, None, vec![]),
        ),
        // A new template: revision 3; of the two old ones (limit 1) the oldest unused goes.
        (
            v3.clone(),
            vec![r1.clone(), r2.clone()],
            vec![],
            (Some(3), None, vec![name(&r1)]),
        ),
        // ... unless its pods are still running.
        (
            v3.clone(),
            vec![r1.clone(), r2.clone()],
            vec![hash_of(&v1)],
            (Some(3), None, vec![name(&r2)]),
        ),
        // Undo to v1: its revision becomes 4, revision 2 expires.
        (
            v1.clone(),
            vec![r1.clone(), r2.clone(), r3.clone()],
            vec![hash_of(&v3)],
            (None, Some((name(&r1), 4)), vec![name(&r2)]),
        ),
    ];
    for (i, (d, revisions, hashes, (created, renumbered, deleted))) in table.into_iter().enumerate()
    {
        let pods: Vec<_> = hashes
            .iter()
            .map(|h| dp(&format!("p-{h}"), "a", h, 0, true))
            .collect();
        let p: HistoryPlan = plan(&d, &revisions, &pods).expect("plan");
        assert_eq!(p.create.as_ref().map(|c| c.revision), created, "case {i}");
        assert_eq!(p.renumber, renumbered, "case {i}");
        assert_eq!(names(&p.delete), names(&deleted), "case {i}");
        assert_eq!(p.hash, hash_of(&d), "case {i}");
    }
}

#[test]
fn revisions_of_others_are_ignored_and_duplicates_removed() {
    let v1 = with_image("v1.wasm", None);
    let mut foreign = stored(&v1, 7);
    foreign.metadata.owner_references.as_mut().expect("owners")[0].uid = "someone-else".into();
    let p = plan(&v1, &[foreign], NO_PODS).expect("plan");
    assert_eq!(
        p.create.map(|c| c.revision),
        Some(1),
        "not counted as history"
    );
    let mut dup = stored(&v1, 1);
    dup.metadata.name = Some("agent-dup".into());
    let p = plan(&v1, &[dup, stored(&v1, 2)], NO_PODS).expect("plan");
    assert_eq!((p.create, p.renumber), (None, None));
    assert_eq!(names(&p.delete), ["agent-dup"]);
}

#[test]
fn the_revision_data_round_trips_as_the_template() {
    let d = with_image("v1.wasm", None);
    let mut data = revision_data(&d);
    let template = data["spec"]["template"].as_object_mut().expect("object");
    template.remove("$patch");
    let back: k8s_openapi::api::core::v1::PodTemplateSpec = from(Value::Object(template.clone()));
    assert_eq!(Some(back), d.spec.map(|s| s.template));
}

/// `cr` with no owner, or with its labels replaced, or being deleted.
fn orphan(mut cr: ControllerRevision) -> ControllerRevision {
    cr.metadata.owner_references = None;
    cr
}

fn relabelled(mut cr: ControllerRevision) -> ControllerRevision {
    cr.metadata.labels = Some([("app".to_owned(), "other".to_owned())].into());
    cr
}

fn deleting(mut cr: ControllerRevision) -> ControllerRevision {
    let v =
        json!({"metadata": {"deletionTimestamp": crate::testutil::rfc3339(crate::testutil::T0)}});
    cr.metadata.deletion_timestamp = from::<ControllerRevision>(v).metadata.deletion_timestamp;
    cr
}

/// (DaemonSet, revisions, adopted, released, number of the revision created).
type ClaimCase<'a> = (
    &'a DaemonSet,
    Vec<ControllerRevision>,
    Vec<&'a str>,
    Vec<&'a str>,
    Option<i64>,
);

#[test]
fn orphan_revisions_are_adopted_as_controller_ref_manager_does() {
    let (v1, v2) = (with_image("v1.wasm", None), with_image("v2.wasm", None));
    let (r1, r2) = (
        format!("agent-{}", hash_of(&v1)),
        format!("agent-{}", hash_of(&v2)),
    );
    let mut terminating = v2.clone();
    terminating.metadata.deletion_timestamp = deleting(stored(&v2, 1)).metadata.deletion_timestamp;
    let table: Vec<ClaimCase> = vec![
        // The current template's orphan revision: adopted, and it is the current one.
        (&v2, vec![orphan(stored(&v2, 1))], vec![&r2], vec![], None),
        // An older template's orphan: adopted as history, the new one numbered after it.
        (
            &v2,
            vec![orphan(stored(&v1, 3))],
            vec![&r1],
            vec![],
            Some(4),
        ),
        // An orphan the selector does not match: left alone, not history.
        (
            &v2,
            vec![orphan(relabelled(stored(&v1, 3)))],
            vec![],
            vec![],
            Some(1),
        ),
        // An orphan being deleted, or a DaemonSet being deleted: no adoption.
        (
            &v2,
            vec![orphan(deleting(stored(&v1, 3)))],
            vec![],
            vec![],
            Some(1),
        ),
        (
            &terminating,
            vec![orphan(stored(&v1, 3))],
            vec![],
            vec![],
            Some(1),
        ),
        // An owned revision that no longer matches: released, not history.
        (
            &v2,
            vec![relabelled(stored(&v1, 3))],
            vec![],
            vec![&r1],
            Some(1),
        ),
        // Owned and matching: nothing to claim.
        (&v2, vec![stored(&v1, 3)], vec![], vec![], Some(4)),
    ];
    for (i, (d, revisions, adopted, released, created)) in table.into_iter().enumerate() {
        let p = plan(d, &revisions, NO_PODS).expect("plan");
        assert_eq!(names(&p.adopt), adopted, "case {i}: adopted");
        assert_eq!(names(&p.release), released, "case {i}: released");
        assert_eq!(p.create.map(|c| c.revision), created, "case {i}: created");
    }
}
