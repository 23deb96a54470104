//! Update rules: immutable metadata, what a pod update may change, frozen selectors and
//! templates, a Service's cluster IP, immutable ConfigMaps and Secrets.

use serde_json::{Value, json};

use super::{configmap, deployment, info, job, pod, secret, service, with};
use crate::validate::{apply_defaults, validate_update};

fn check(kind: &str, old: Value, new: Value, want: Option<(&str, &str)>) {
    let (mut old, mut new) = (old, new);
    apply_defaults(info(kind), &mut old);
    apply_defaults(info(kind), &mut new);
    let got = validate_update(info(kind), &old, &new);
    match (want, &got) {
        (None, Ok(())) => {}
        (Some((field, msg)), Err(errs))
            if errs
                .iter()
                .any(|e| e.field == field && e.message.contains(msg)) => {}
        _ => panic!("{kind}: want {want:?}, got {got:#?}"),
    }
}

#[test]
fn update_rules() {
    let p = pod;
    check(
        "Pod",
        p(),
        with(
            p(),
            "/spec/containers/0/image",
            json!("registry.local/hello:2.0"),
        ),
        None,
    );
    check(
        "Pod",
        p(),
        with(p(), "/metadata/labels/tier", json!("front")),
        None,
    );
    check(
        "Pod",
        p(),
        with(p(), "/spec/activeDeadlineSeconds", json!(60)),
        None,
    );
    check(
        "Pod",
        p(),
        with(
            p(),
            "/spec/tolerations",
            json!([{"key": "k", "operator": "Exists"}]),
        ),
        None,
    );
    check(
        "Pod",
        p(),
        with(p(), "/spec/nodeName", json!("node-1")),
        None,
    );
    check(
        "Pod",
        with(p(), "/spec/nodeName", json!("node-1")),
        with(p(), "/spec/nodeName", json!("node-2")),
        Some(("spec", "pod updates may not change fields other than")),
    );
    check(
        "Pod",
        with(
            p(),
            "/spec/tolerations",
            json!([{"key": "k", "operator": "Exists"}]),
        ),
        p(),
        Some(("spec", "pod updates may not change")),
    );
    check(
        "Pod",
        p(),
        with(p(), "/spec/containers/0/ports/0/containerPort", json!(9090)),
        Some(("spec", "pod updates may not change")),
    );
    check(
        "Pod",
        p(),
        with(p(), "/metadata/name", json!("other")),
        Some((
            "metadata.name",
            "Invalid value: \"other\": field is immutable",
        )),
    );
    check(
        "Pod",
        p(),
        with(p(), "/metadata/namespace", json!("prod")),
        Some(("metadata.namespace", "field is immutable")),
    );
    check(
        "Pod",
        with(p(), "/metadata/uid", json!("a")),
        with(p(), "/metadata/uid", json!("b")),
        Some(("metadata.uid", "field is immutable")),
    );
    check("Pod", with(p(), "/metadata/uid", json!("a")), p(), None);
    check(
        "Pod",
        p(),
        with(p(), "/spec/containers/0/image", json!("")),
        Some(("spec.containers[0].image", "Required value")),
    );

    let d = deployment;
    check(
        "Deployment",
        d(),
        with(d(), "/spec/replicas", json!(10)),
        None,
    );
    check(
        "Deployment",
        d(),
        with(d(), "/spec/template/spec/containers/0/image", json!("x:2")),
        None,
    );
    let relabelled = with(
        with(d(), "/spec/selector/matchLabels/tier", json!("a")),
        "/spec/template/metadata/labels/tier",
        json!("a"),
    );
    check(
        "Deployment",
        d(),
        relabelled,
        Some(("spec.selector", "field is immutable")),
    );

    let j = || {
        with(
            job(),
            "/spec/selector",
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}}),
        )
    };
    let labelled = |v: Value| {
        with(
            v,
            "/spec/template/metadata/labels/batch.kubernetes.io~1controller-uid",
            json!("u"),
        )
    };
    check(
        "Job",
        labelled(j()),
        with(labelled(j()), "/spec/backoffLimit", json!(2)),
        None,
    );
    check(
        "Job",
        labelled(j()),
        with(
            labelled(j()),
            "/spec/template/spec/containers/0/image",
            json!("x:2"),
        ),
        Some(("spec.template", "field is immutable")),
    );

    let s = || with(service(), "/spec/clusterIP", json!("10.96.0.10"));
    check(
        "Service",
        s(),
        with(s(), "/spec/ports/0/port", json!(8080)),
        None,
    );
    check(
        "Service",
        s(),
        with(s(), "/spec/clusterIP", json!("10.96.0.11")),
        Some((
            "spec.clusterIP",
            "Invalid value: \"10.96.0.11\": field is immutable",
        )),
    );
    check("Service", service(), s(), None);

    let frozen = || with(configmap(), "/immutable", json!(true));
    check(
        "ConfigMap",
        configmap(),
        with(configmap(), "/data/x", json!("y")),
        None,
    );
    check(
        "ConfigMap",
        frozen(),
        with(frozen(), "/data/x", json!("y")),
        Some(("data", "field is immutable when `immutable` is set")),
    );
    check(
        "ConfigMap",
        frozen(),
        with(frozen(), "/immutable", json!(false)),
        Some(("immutable", "field is immutable when `immutable` is set")),
    );
    check(
        "ConfigMap",
        frozen(),
        with(frozen(), "/metadata/labels", json!({"a": "b"})),
        None,
    );
    check(
        "Secret",
        secret(),
        with(secret(), "/type", json!("kubernetes.io/basic-auth")),
        Some(("type", "field is immutable")),
    );
}
