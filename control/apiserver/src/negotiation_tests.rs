//! The negotiation table: `Accept` headers clients send, and what kube-apiserver answers them.

use super::{Choice, MetaVersion, Transform, choose};

const JSON: Option<Choice> = Some(Choice {
    protobuf: false,
    transform: None,
});
const PROTOBUF: Option<Choice> = Some(Choice {
    protobuf: true,
    transform: None,
});

fn json_as(transform: Transform, version: MetaVersion) -> Option<Choice> {
    Some(Choice {
        protobuf: false,
        transform: Some((transform, version)),
    })
}

fn protobuf_as(transform: Transform, version: MetaVersion) -> Option<Choice> {
    Some(Choice {
        protobuf: true,
        transform: Some((transform, version)),
    })
}

#[test]
fn each_accept_header_gets_what_kube_apiserver_answers() {
    use MetaVersion::{V1, V1beta1};
    use Transform::{Metadata, MetadataList, Table};
    let cases: &[(&str, Option<Choice>)] = &[
        ("", JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        ("application/yaml", JSON),
        // A browser's header ends in a wildcard; a header naming only other types is 406.
        (
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            JSON,
        ),
        ("text/html", None),
        ("text/plain, application/xml", None),
        ("not a media type", JSON),
        ("application/vnd.kubernetes.protobuf, */*", PROTOBUF),
        (
            "application/json, application/vnd.kubernetes.protobuf",
            JSON,
        ),
        // kube-rs's metadata requests.
        (
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
            json_as(Metadata, V1),
        ),
        (
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
            json_as(MetadataList, V1),
        ),
        (
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1",
            json_as(Metadata, V1beta1),
        ),
        // client-go's metadata client: protobuf first.
        (
            "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json",
            protobuf_as(Metadata, V1),
        ),
        // kubectl get.
        (
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
            json_as(Table, V1),
        ),
        // No Table in protobuf: the next clause.
        (
            "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json",
            JSON,
        ),
        // An unknown kind, group or version: the clause is skipped.
        (
            "application/json;as=Foo;g=meta.k8s.io;v=v1,application/json",
            JSON,
        ),
        (
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v2,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
            json_as(Metadata, V1),
        ),
        ("application/json;as=PartialObjectMetadata;v=v1", None),
        ("application/json;as=Foo;g=meta.k8s.io;v=v1", None),
        ("application/json;as=Table", None),
        (
            "text/html;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
            None,
        ),
        // By q, then concrete before wildcard.
        (
            "application/json;q=0.5,application/vnd.kubernetes.protobuf",
            PROTOBUF,
        ),
        (
            "*/*;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/vnd.kubernetes.protobuf",
            PROTOBUF,
        ),
        (
            "application/*;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
            json_as(MetadataList, V1),
        ),
    ];
    for (accept, expected) in cases {
        assert_eq!(choose(accept), *expected, "Accept: {accept}");
    }
}

#[test]
fn versions_name_their_group() {
    assert_eq!(MetaVersion::V1.api_version(), "meta.k8s.io/v1");
    assert_eq!(MetaVersion::V1beta1.api_version(), "meta.k8s.io/v1beta1");
}
