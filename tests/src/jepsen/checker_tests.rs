//! Tests of the checker itself on hand-made histories: it accepts correct ones (sequential,
//! overlapping, with indeterminate writes that did and did not take effect) and rejects a stale
//! read, a lost acknowledged write, a CAS against a value that was not current, and change logs
//! that diverge or disagree with the history.

use crate::jepsen::changelog::{Change, LogError, check_history, compare};
use crate::jepsen::history::{Entry, Outcome, Returned};
use crate::jepsen::linearizable::{Budget, CheckError, check};
use crate::jepsen::model::Op;

/// One op: process, op, call and return times (ms), outcome.
type Spec = (u64, Op, u64, Option<u64>, Outcome);

fn history(specs: Vec<Spec>) -> Vec<Entry> {
    specs
        .into_iter()
        .enumerate()
        .map(|(id, (process, op, call, ret, outcome))| Entry {
            id,
            process,
            key: "k".into(),
            op,
            call: call * 1_000_000,
            ret: ret.map(|r| r * 1_000_000),
            outcome: Some(outcome),
        })
        .collect()
}

fn w(v: &str) -> Op {
    Op::Write { value: v.into() }
}

fn cas(from: &str, to: &str) -> Op {
    Op::Cas {
        expected: from.into(),
        value: to.into(),
    }
}

fn written(revision: u64) -> Outcome {
    Outcome::Ok(Returned::Written { revision })
}

fn saw(v: &str) -> Outcome {
    Outcome::Ok(Returned::Read(Some(v.into())))
}

fn info() -> Outcome {
    Outcome::Info("timed out".into())
}

fn verdict(specs: Vec<Spec>) -> Result<(), CheckError> {
    check(&history(specs), Budget::default()).1
}

/// The violation's stuck op, or a failure if the history was accepted.
fn stuck(specs: Vec<Spec>) -> Entry {
    match verdict(specs) {
        Err(e @ CheckError::Violation(_)) => {
            eprintln!("{e}");
            let CheckError::Violation(v) = e else {
                unreachable!("matched above")
            };
            v.stuck
        }
        other => panic!("expected a violation, got {other:?}"),
    }
}

#[test]
fn accepts_a_sequential_history() {
    let ok = verdict(vec![
        (0, w("a"), 0, Some(1), written(1)),
        (0, Op::Read, 2, Some(3), saw("a")),
        (1, cas("a", "b"), 4, Some(5), written(2)),
        (
            1,
            cas("a", "c"),
            6,
            Some(7),
            Outcome::Fail("conflict".into()),
        ),
        (0, Op::Read, 8, Some(9), saw("b")),
    ]);
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn accepts_overlapping_ops_in_either_order() {
    // The write of b overlaps both reads: one sees it, the other (earlier) does not.
    let ok = verdict(vec![
        (0, w("a"), 0, Some(1), written(1)),
        (1, w("b"), 2, Some(20), written(2)),
        (2, Op::Read, 3, Some(10), saw("b")),
        (3, Op::Read, 4, Some(12), saw("a")),
        (4, Op::Read, 21, Some(22), saw("b")),
    ]);
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn accepts_indeterminate_writes_that_did_and_did_not_happen() {
    let ok = verdict(vec![
        (0, w("a"), 0, Some(1), written(1)),
        // Took effect long after its call (it was still in flight).
        (1, w("b"), 2, None, info()),
        (2, Op::Read, 10, Some(11), saw("a")),
        (2, Op::Read, 30, Some(31), saw("b")),
        // Never took effect.
        (3, cas("b", "c"), 40, None, info()),
        (2, Op::Read, 50, Some(51), saw("b")),
    ]);
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn rejects_a_stale_read() {
    let op = stuck(vec![
        (0, w("v17"), 0, Some(1), written(1)),
        (0, w("v19"), 2, Some(3), written(2)),
        (1, Op::Read, 4, Some(5), saw("v17")),
    ]);
    assert_eq!(op.id, 2);
}

#[test]
fn rejects_a_lost_acknowledged_write() {
    let op = stuck(vec![
        (0, w("a"), 0, Some(1), written(1)),
        (1, w("b"), 2, Some(3), written(2)),
        (2, w("c"), 2, None, info()),
        (0, Op::Read, 6, Some(7), saw("a")),
        (1, Op::Read, 8, Some(9), saw("a")),
    ]);
    assert_eq!(op.id, 3);
}

#[test]
fn rejects_a_cas_against_a_value_that_was_not_current() {
    let op = stuck(vec![
        (0, w("a"), 0, Some(1), written(1)),
        (1, w("b"), 2, Some(3), written(2)),
        (2, cas("a", "c"), 4, Some(5), written(3)),
    ]);
    assert_eq!(op.id, 2);
}

#[test]
fn a_violation_names_the_key_the_op_and_the_value_it_missed() {
    let text = verdict(vec![
        (0, w("v17"), 0, Some(1), written(1)),
        (0, w("v19"), 2, Some(3), written(2)),
        (1, Op::Read, 4, Some(5), saw("v17")),
    ])
    .expect_err("a stale read")
    .to_string();
    for needle in ["on key k", "#2 p1 k read -> v17", "leaves the key at v19"] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

#[test]
fn a_search_out_of_budget_is_inconclusive() {
    let specs: Vec<Spec> = (0..20)
        .map(|i| (i, w(&format!("v{i}")), 0, Some(100), written(i + 1)))
        .chain([(99, Op::Read, 200, Some(201), saw("nobody"))])
        .collect();
    let tiny = Budget {
        max_steps: 1000,
        max_cache: 1000,
    };
    let result = check(&history(specs), tiny).1;
    assert!(
        matches!(result, Err(CheckError::Inconclusive { .. })),
        "{result:?}"
    );
}

fn change(revision: u64, value: &str) -> Change {
    Change {
        revision,
        key: "k".into(),
        kind: "PUT".into(),
        value: Some(value.into()),
    }
}

#[test]
fn rejects_change_logs_that_differ_at_one_revision() {
    let a = vec![change(1, "a"), change(2, "b"), change(3, "c")];
    let mut b = a.clone();
    b[1] = change(2, "x");
    assert!(compare(&[a.clone(), a.clone()]).is_ok());
    // One log may reach further than the other.
    assert!(compare(&[a.clone(), a[..2].to_vec()]).is_ok());
    match compare(&[a, b]).map_err(|e| *e) {
        Err(LogError::Diverged { revision: 2, .. }) => {}
        other => panic!("expected divergence at 2, got {other:?}"),
    }
}

#[test]
fn checks_the_change_log_against_the_history() {
    let entries = history(vec![
        (0, w("a"), 0, Some(1), written(1)),
        (
            1,
            cas("a", "b"),
            2,
            Some(3),
            Outcome::Fail("conflict".into()),
        ),
        (2, w("c"), 4, None, info()),
    ]);
    let good = vec![change(1, "a"), change(2, "c")];
    assert!(check_history(&good, &entries, "k").is_ok());
    let lost = vec![change(2, "c")];
    assert!(matches!(
        check_history(&lost, &entries, "k").map_err(|e| *e),
        Err(LogError::LostWrite { .. })
    ));
    let failed = vec![change(1, "a"), change(2, "b")];
    assert!(matches!(
        check_history(&failed, &entries, "k").map_err(|e| *e),
        Err(LogError::FailedWriteApplied { .. })
    ));
    let unknown = vec![change(1, "a"), change(2, "z")];
    assert!(matches!(
        check_history(&unknown, &entries, "k").map_err(|e| *e),
        Err(LogError::UnknownValue { .. })
    ));
}
