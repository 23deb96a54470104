//! Garbage collection decisions by table, and a Foreground cascade run to its end.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::json;

use super::{
    DependentAction, FOREGROUND_DELETION, ORPHAN, OwnerPlan, OwnerState, Propagation,
    decide_dependent, decide_owner,
};
use crate::common::time_at;
use crate::testutil::{T0, from};

fn meta(name: &str, owners: &[(&str, bool)], finalizers: &[&str], deleting: bool) -> ObjectMeta {
    let refs: Vec<_> = owners
        .iter()
        .map(|(uid, block)| json!({"apiVersion": "v1", "kind": "X", "name": uid, "uid": uid, "blockOwnerDeletion": block}))
        .collect();
    let mut m: ObjectMeta =
        from(json!({"name": name, "uid": name, "ownerReferences": refs, "finalizers": finalizers}));
    if deleting {
        m.deletion_timestamp = Some(time_at(T0));
    }
    m
}

fn state(r: &OwnerReference) -> OwnerState {
    match r.uid.as_str() {
        "live" | "live2" => OwnerState::Present,
        "waiting" => OwnerState::DeletingForeground,
        _ => OwnerState::Absent,
    }
}

#[test]
fn dependents_by_table() {
    // (owners, finalizers, being deleted, has dependents, action)
    type Case<'a> = (
        Vec<(&'a str, bool)>,
        Vec<&'a str>,
        bool,
        bool,
        DependentAction,
    );
    let table: Vec<Case> = vec![
        (vec![], vec![], false, false, DependentAction::Keep),
        (
            vec![("live", true)],
            vec![],
            false,
            false,
            DependentAction::Keep,
        ),
        (
            vec![("gone", true)],
            vec![],
            false,
            false,
            DependentAction::Delete(Propagation::Background),
        ),
        (
            vec![("gone", true)],
            vec![ORPHAN],
            false,
            false,
            DependentAction::Delete(Propagation::Orphan),
        ),
        (
            vec![("gone", true)],
            vec![FOREGROUND_DELETION],
            false,
            false,
            DependentAction::Delete(Propagation::Foreground),
        ),
        (
            vec![("live", false), ("gone", false)],
            vec![],
            false,
            false,
            DependentAction::RemoveOwnerReferences(vec!["gone".into()]),
        ),
        (
            vec![("live", false), ("waiting", true)],
            vec![],
            false,
            true,
            DependentAction::RemoveOwnerReferences(vec!["waiting".into()]),
        ),
        (
            vec![("waiting", true)],
            vec![],
            false,
            true,
            DependentAction::Delete(Propagation::Foreground),
        ),
        (
            vec![("waiting", true)],
            vec![],
            false,
            false,
            DependentAction::Delete(Propagation::Background),
        ),
        (
            vec![("gone", true), ("waiting", true)],
            vec![],
            false,
            false,
            DependentAction::Delete(Propagation::Background),
        ),
        (
            vec![("gone", true)],
            vec![],
            true,
            false,
            DependentAction::Keep,
        ),
    ];
    for (i, (owners, fins, deleting, deps, want)) in table.into_iter().enumerate() {
        assert_eq!(
            decide_dependent(&meta("d", &owners, &fins, deleting), state, deps),
            want,
            "case {i}"
        );
    }
}

#[test]
fn owners_by_table() {
    let owner = |fins: &[&str], deleting: bool| meta("o", &[], fins, deleting);
    let blocking = meta("a", &[("o", true)], &[], false);
    let blocking_deleting = meta("b", &[("o", true)], &[], true);
    let loose = meta("c", &[("o", false)], &[], false);
    let stranger = meta("s", &[("x", true)], &[], false);
    // (owner, dependents, plan)
    let table: Vec<(ObjectMeta, Vec<&ObjectMeta>, OwnerPlan)> = vec![
        (
            owner(&[FOREGROUND_DELETION], false),
            vec![&blocking],
            OwnerPlan::default(),
        ),
        (
            owner(&[ORPHAN], true),
            vec![&blocking, &loose, &stranger],
            OwnerPlan {
                orphan: vec!["a".into(), "c".into()],
                process: vec![],
                remove_finalizer: Some(ORPHAN),
            },
        ),
        (
            owner(&[ORPHAN], true),
            vec![&stranger],
            OwnerPlan {
                orphan: vec![],
                process: vec![],
                remove_finalizer: Some(ORPHAN),
            },
        ),
        (
            owner(&[FOREGROUND_DELETION], true),
            vec![&blocking, &blocking_deleting, &loose],
            OwnerPlan {
                orphan: vec![],
                process: vec!["a".into()],
                remove_finalizer: None,
            },
        ),
        (
            owner(&[FOREGROUND_DELETION], true),
            vec![&blocking_deleting],
            OwnerPlan::default(),
        ),
        // Only non-blocking dependents left: the owner goes; they become dangling later.
        (
            owner(&[FOREGROUND_DELETION], true),
            vec![&loose, &stranger],
            OwnerPlan {
                orphan: vec![],
                process: vec![],
                remove_finalizer: Some(FOREGROUND_DELETION),
            },
        ),
    ];
    for (i, (o, deps, want)) in table.into_iter().enumerate() {
        assert_eq!(decide_owner(&o, &deps), want, "case {i}");
    }
}

/// A Deployment deleted in the foreground: the ReplicaSet is deleted in the foreground
/// (it has pods), the pods in the background, then the finalizers fall in order.
#[test]
fn a_foreground_cascade_runs_to_its_end() {
    let mut objs = vec![
        meta("deploy", &[], &[FOREGROUND_DELETION], true),
        meta("rs", &[("deploy", true)], &[], false),
        meta("pod1", &[("rs", true)], &[], false),
        meta("pod2", &[("rs", true)], &[], false),
    ];
    for _round in 0..10 {
        let snapshot = objs.clone();
        let find = |uid: &str| snapshot.iter().find(|o| o.uid.as_deref() == Some(uid));
        let state = |r: &OwnerReference| match find(&r.uid) {
            None => OwnerState::Absent,
            Some(o)
                if o.deletion_timestamp.is_some()
                    && o.finalizers
                        .iter()
                        .flatten()
                        .any(|f| f == FOREGROUND_DELETION) =>
            {
                OwnerState::DeletingForeground
            }
            Some(_) => OwnerState::Present,
        };
        for o in &snapshot {
            let deps: Vec<&ObjectMeta> = snapshot.iter().collect();
            let plan = decide_owner(o, &deps);
            let me = objs.iter_mut().find(|x| x.uid == o.uid).expect("self");
            if let Some(f) = plan.remove_finalizer {
                me.finalizers
                    .get_or_insert_with(Vec::new)
                    .retain(|x| x != f);
            }
            let has_deps = snapshot.iter().any(|d| {
                d.owner_references
                    .iter()
                    .flatten()
                    .any(|r| Some(&r.uid) == o.uid.as_ref())
            });
            if let DependentAction::Delete(p) = decide_dependent(o, state, has_deps) {
                me.deletion_timestamp = Some(time_at(T0));
                if p == Propagation::Foreground {
                    me.finalizers
                        .get_or_insert_with(Vec::new)
                        .push(FOREGROUND_DELETION.into());
                }
            }
        }
        // The API server removes deleted objects without finalizers.
        objs.retain(|o| {
            o.deletion_timestamp.is_none() || o.finalizers.as_ref().is_some_and(|f| !f.is_empty())
        });
        if objs.is_empty() {
            return;
        }
    }
    panic!("cascade stuck: {objs:?}");
}
