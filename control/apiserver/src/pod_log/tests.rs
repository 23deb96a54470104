//! The container choice and the option checks of `pods/log`, by table.

use super::*;
use serde_json::json;

#[test]
fn the_container_is_the_one_named_or_the_only_one() {
    let one = json!({"spec": {"containers": [{"name": "app"}]}});
    let two = json!({"spec": {
        "initContainers": [{"name": "setup"}],
        "containers": [{"name": "a"}, {"name": "b"}]
    }});
    let cases: [(&Value, Option<&str>, Result<&str, &str>); 6] = [
        (&one, None, Ok("app")),
        (&one, Some(""), Ok("app")),
        (&one, Some("app"), Ok("app")),
        (&two, Some("setup"), Ok("setup")),
        (
            &two,
            None,
            Err(
                "a container name must be specified for pod x, choose one of: [a b] or one of the init containers: [setup]",
            ),
        ),
        (&one, Some("c"), Err("container c is not valid for pod x")),
    ];
    for (pod, asked, want) in cases {
        let got = pick_container(pod, "x", asked);
        match (got, want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want),
            (Err(e), Err(want)) => {
                assert_eq!((e.code, e.message.as_str()), (400, want));
            }
            (got, want) => panic!("{asked:?}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn options_are_checked_and_passed_on() {
    let ok = [
        ("", ""),
        ("container=a&follow=true", "follow=true"),
        (
            "tailLines=0&timestamps=true&sinceSeconds=5&limitBytes=1&previous=false&pretty=1",
            "tailLines=0&timestamps=true&sinceSeconds=5&limitBytes=1&previous=false",
        ),
        (
            "sinceTime=2026-01-01T00%3A00%3A00Z",
            "sinceTime=2026-01-01T00%3A00%3A00Z",
        ),
    ];
    for (query, forwarded) in ok {
        assert_eq!(forwarded_query(query, "x").unwrap(), forwarded, "{query}");
    }
    let refused = [
        (
            "tailLines=-1",
            422,
            "PodLogOptions \"x\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0",
        ),
        (
            "limitBytes=0",
            422,
            "PodLogOptions \"x\" is invalid: limitBytes: Invalid value: 0: must be greater than 0",
        ),
        (
            "sinceSeconds=1&sinceTime=2026-01-01T00:00:00Z",
            422,
            "PodLogOptions \"x\" is invalid: sinceSeconds: at most one of `sinceTime` or `sinceSeconds` may be specified",
        ),
        (
            "tailLines=ten",
            400,
            "invalid value \"ten\" for tailLines: not an integer",
        ),
        (
            "follow=yes",
            400,
            "invalid value \"yes\" for follow: must be true or false",
        ),
    ];
    for (query, code, message) in refused {
        let e = forwarded_query(query, "x").unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (code, message), "{query}");
    }
}
