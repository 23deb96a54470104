//! The graph by example: which objects each event wakes.

use serde_json::json;

use super::super::Meta;
use super::{Graph, Located};

const RS: usize = 0;
const POD: usize = 1;

fn obj(name: &str, uid: &str, owners: &[&str], deleting: bool) -> Meta {
    let refs: Vec<_> = owners
        .iter()
        .map(|o| json!({"apiVersion": "v1", "kind": "X", "name": o, "uid": o}))
        .collect();
    let mut v = json!({"metadata": {"name": name, "namespace": "ns", "uid": uid,
        "ownerReferences": refs}});
    if deleting {
        v["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    }
    serde_json::from_value(v).expect("object")
}

fn at(kind: usize, name: &str) -> Located {
    Located {
        kind,
        namespace: Some("ns".into()),
        name: name.into(),
    }
}

#[test]
fn deleting_and_removing_owners_wake_their_dependents() {
    let mut g = Graph::default();
    // A dependent first, its owner later (watches of different kinds race).
    assert!(
        g.upsert(POD, &obj("p1", "u-p1", &["u-rs"], false))
            .is_empty()
    );
    assert!(g.upsert(RS, &obj("rs", "u-rs", &[], false)).is_empty());
    g.upsert(POD, &obj("p2", "u-p2", &["u-rs"], false));
    assert_eq!(g.dependents_of("u-rs"), vec![at(POD, "p1"), at(POD, "p2")]);
    // The owner enters deletion: its dependents wake; a dependent's change wakes the owner.
    assert_eq!(
        g.upsert(RS, &obj("rs", "u-rs", &[], true)),
        vec![at(POD, "p1"), at(POD, "p2")]
    );
    assert_eq!(
        g.upsert(POD, &obj("p1", "u-p1", &["u-rs"], true)),
        vec![at(RS, "rs")]
    );
    // A dependent removed wakes its deleting owner; the owner removed wakes what is left.
    assert_eq!(g.remove("u-p1"), vec![at(RS, "rs")]);
    assert_eq!(g.remove("u-rs"), vec![at(POD, "p2")]);
    assert_eq!(g.locate("u-rs"), None);
    assert_eq!(g.dependents_of("u-rs"), vec![at(POD, "p2")]);
}

#[test]
fn a_dropped_owner_reference_unlinks_and_a_relist_finds_the_missed_deletes() {
    let mut g = Graph::default();
    g.upsert(RS, &obj("rs", "u-rs", &[], false));
    g.upsert(POD, &obj("p1", "u-p1", &["u-rs"], false));
    g.upsert(POD, &obj("p1", "u-p1", &[], false));
    assert!(g.dependents_of("u-rs").is_empty());
    g.upsert(POD, &obj("p2", "u-p2", &["u-rs"], false));
    // The RS watch relists without "rs": it was deleted while the watch was down.
    g.relist_started(RS);
    assert_eq!(g.relist_done(RS), vec![at(POD, "p2")]);
    // A relist that lists an object keeps it.
    g.relist_started(POD);
    g.upsert(POD, &obj("p2", "u-p2", &["u-rs"], false));
    assert!(g.relist_done(POD).is_empty());
    assert_eq!(g.locate("u-p2"), Some(at(POD, "p2")));
}
