//! Review paths and SubjectAccessReview specs.

use serde_json::json;
use skiff_api::rbac::UserInfo;

use super::*;
use crate::request::Verb;

#[test]
fn review_paths() {
    let post = Method::POST;
    let table = [
        (
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            Some(Review::SelfAccess),
        ),
        (
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            Some(Review::Access),
        ),
        (
            "/apis/authorization.k8s.io/v1/namespaces/dev/localsubjectaccessreviews",
            Some(Review::LocalAccess("dev".into())),
        ),
        (
            "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            Some(Review::SelfRules),
        ),
        (
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            Some(Review::SelfSubject),
        ),
        (
            "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews",
            None,
        ),
        ("/api/v1/namespaces/dev/pods", None),
    ];
    for (path, want) in table {
        assert_eq!(Review::of(&post, path), want, "{path}");
    }
    let get = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    assert_eq!(Review::of(&Method::GET, get), None);
}

#[test]
fn spec_attributes_need_exactly_one_kind() {
    let user = UserInfo::new("u", &[]);
    let resource = json!({"resourceAttributes": {"verb": "list", "resource": "pods",
        "namespace": "dev", "group": "", "subresource": "log", "name": "web"}});
    let got = spec_attributes(&resource, user.clone(), "SelfSubjectAccessReview").unwrap();
    assert_eq!(
        got.target,
        Target::Resource(ResourceAttributes {
            namespace: "dev".into(),
            api_group: String::new(),
            resource: "pods".into(),
            subresource: "log".into(),
            name: "web".into(),
        })
    );
    let path = json!({"nonResourceAttributes": {"verb": "get", "path": "/healthz"}});
    let got = spec_attributes(&path, user.clone(), "SubjectAccessReview").unwrap();
    assert_eq!(
        (got.verb.as_str(), got.target),
        (
            "get",
            Target::NonResource {
                path: "/healthz".into()
            }
        )
    );
    for bad in [
        json!({}),
        json!({"resourceAttributes": {}, "nonResourceAttributes": {}}),
    ] {
        let e = spec_attributes(&bad, user.clone(), "SubjectAccessReview").unwrap_err();
        assert_eq!(e.code, 422, "{bad}");
    }
    assert_eq!(spec_user(&json!({})).unwrap_err().code, 422);
}

#[test]
fn review_attributes_become_the_request_the_node_rules_judge() {
    let ask = |verb: &str, group: &str, resource: &str, name: &str| Attributes {
        user: UserInfo::new("system:node:n1", &["system:nodes"]),
        verb: verb.into(),
        target: Target::Resource(ResourceAttributes {
            namespace: "ns".into(),
            api_group: group.into(),
            resource: resource.into(),
            subresource: String::new(),
            name: name.into(),
        }),
    };
    let pod = node::as_request(&ask("get", "", "pods", "p")).expect("pods are served");
    assert_eq!(
        (
            pod.verb,
            pod.info.kind,
            pod.name.as_deref(),
            pod.namespace.as_deref()
        ),
        (Verb::Get, "Pod", Some("p"), Some("ns"))
    );
    let lease = node::as_request(&ask("update", "coordination.k8s.io", "leases", "n1"));
    assert_eq!(
        lease.map(|r| (r.verb, r.info.kind)),
        Some((Verb::Update, "Lease"))
    );
    assert!(node::as_request(&ask("list", "", "widgets", "")).is_none());
    assert!(node::as_request(&ask("escalate", "", "pods", "")).is_none());
    let path = Attributes {
        user: UserInfo::new("system:node:n1", &[]),
        verb: "get".into(),
        target: Target::NonResource {
            path: "/healthz".into(),
        },
    };
    assert!(node::as_request(&path).is_none());
}
