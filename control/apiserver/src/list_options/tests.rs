//! The list read plan, by table: every combination of `resourceVersion`,
//! `resourceVersionMatch`, `limit` and `continue` kube-apiserver distinguishes.

use super::{ListPlan, ListStart, encode_continue, plan};
use crate::request::Query;

const PREFIX: &str = "/registry/core/configmaps/default/";

fn token(rv: u64) -> String {
    encode_continue(rv, format!("{PREFIX}b"))
}

/// `Ok(start)` or `Err((code, a piece of the message))`.
fn outcome(raw: &str) -> Result<ListPlan, (u16, String)> {
    plan(&Query::parse(raw), PREFIX).map_err(|e| (e.code, e.message))
}

#[test]
fn starts() {
    let cases: &[(&str, ListStart)] = &[
        ("", ListStart::Newest),
        ("limit=2", ListStart::Newest),
        ("resourceVersion=0", ListStart::NotOlderThan(0)),
        ("resourceVersion=0&limit=2", ListStart::NotOlderThan(0)),
        ("resourceVersion=7", ListStart::NotOlderThan(7)),
        ("resourceVersion=7&limit=2", ListStart::Exact(7)),
        (
            "resourceVersion=7&resourceVersionMatch=NotOlderThan&limit=2",
            ListStart::NotOlderThan(7),
        ),
        (
            "resourceVersion=0&resourceVersionMatch=NotOlderThan",
            ListStart::NotOlderThan(0),
        ),
        (
            "resourceVersion=7&resourceVersionMatch=Exact",
            ListStart::Exact(7),
        ),
    ];
    for (raw, start) in cases {
        let got = outcome(raw).map(|p| p.start);
        assert_eq!(got, Ok(*start), "{raw}");
    }
}

#[test]
fn continued_lists_resume_at_the_first_page_revision() {
    for raw in [
        format!("continue={}", token(9)),
        format!("continue={}&resourceVersion=0", token(9)),
        format!("continue={}&limit=3", token(9)),
    ] {
        let got = outcome(&raw);
        let want = ListPlan {
            start: ListStart::Exact(9),
            after: Some(format!("{PREFIX}b")),
        };
        assert_eq!(got, Ok(want), "{raw}");
    }
}

#[test]
fn refusals() {
    let other_list = encode_continue(9, "/registry/core/secrets/default/b".into());
    let zero_rv = encode_continue(0, format!("{PREFIX}b"));
    let cases: Vec<(String, u16, &str)> = vec![
        (
            "resourceVersionMatch=Exact".into(),
            422,
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
        ),
        (
            "resourceVersionMatch=NotOlderThan".into(),
            422,
            "ListOptions.meta.k8s.io \"\" is invalid",
        ),
        (
            "resourceVersion=0&resourceVersionMatch=Exact".into(),
            422,
            "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
        ),
        (
            "resourceVersion=3&resourceVersionMatch=Newest".into(),
            422,
            "Unsupported value: \"Newest\"",
        ),
        (
            format!(
                "continue={}&resourceVersion=3&resourceVersionMatch=Exact",
                token(3)
            ),
            422,
            "resourceVersionMatch is forbidden when continue is provided",
        ),
        (
            format!("continue={}&resourceVersion=3", token(3)),
            400,
            "specifying resource version is not allowed when using continue",
        ),
        ("continue=!!!".into(), 400, "invalid continue token"),
        ("continue=eyJh".into(), 400, "invalid continue token"),
        (
            format!("continue={other_list}"),
            400,
            "not within this list",
        ),
        (format!("continue={zero_rv}"), 400, "resourceVersion"),
        (
            "resourceVersion=abc".into(),
            400,
            "invalid resource version",
        ),
        (
            "resourceVersion=-1&limit=1".into(),
            400,
            "invalid resource version",
        ),
    ];
    for (raw, code, text) in cases {
        match outcome(&raw) {
            Err((got_code, message)) => {
                assert_eq!(got_code, code, "{raw}: {message}");
                assert!(message.contains(text), "{raw}: {message}");
            }
            Ok(plan) => panic!("{raw}: accepted as {plan:?}"),
        }
    }
}
