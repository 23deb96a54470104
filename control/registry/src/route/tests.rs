//! Routing by table: every endpoint of the spec, and the names and references it refuses.

use http::Method;

use super::{Action, Reference, Route, parse, repository};
use crate::digest::Digest;

const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#[test]
fn every_endpoint_is_routed() {
    let d = Digest::parse(D).unwrap();
    let name = || "team/app".to_owned();
    let cases = [
        ("/v2/", Route::Version),
        ("/v2", Route::Version),
        (
            &format!("/v2/team/app/blobs/{D}") as &str,
            Route::Blob {
                name: name(),
                digest: d.clone(),
            },
        ),
        (
            "/v2/team/app/blobs/uploads/",
            Route::StartUpload { name: name() },
        ),
        (
            "/v2/team/app/blobs/uploads/00ff",
            Route::Upload {
                name: name(),
                id: "00ff".into(),
            },
        ),
        (
            "/v2/team/app/manifests/v1.0",
            Route::Manifest {
                name: name(),
                reference: Reference::Tag("v1.0".into()),
            },
        ),
        (
            &format!("/v2/team/app/manifests/{D}"),
            Route::Manifest {
                name: name(),
                reference: Reference::Digest(d.clone()),
            },
        ),
        ("/v2/team/app/tags/list", Route::Tags { name: name() }),
        (
            &format!("/v2/team/app/referrers/{D}"),
            Route::Referrers {
                name: name(),
                digest: d.clone(),
            },
        ),
        // A repository may itself be called "blobs" or "manifests".
        (
            "/v2/blobs/manifests/latest",
            Route::Manifest {
                name: "blobs".into(),
                reference: Reference::Tag("latest".into()),
            },
        ),
    ];
    for (path, want) in cases {
        assert_eq!(parse(path).unwrap(), Some(want), "{path}");
    }
    assert_eq!(parse("/api/v1/pods").unwrap(), None);
    assert_eq!(parse("/v2x").unwrap(), None);
}

#[test]
fn bad_names_references_and_digests_are_refused_with_their_codes() {
    let cases = [
        ("/v2/Team/app/tags/list", "NAME_INVALID"),
        ("/v2/a..b/tags/list", "NAME_INVALID"),
        ("/v2/-a/tags/list", "NAME_INVALID"),
        ("/v2/a//b/tags/list", "NAME_INVALID"),
        ("/v2/app/manifests/-bad", "MANIFEST_INVALID"),
        ("/v2/app/blobs/sha256:1234", "DIGEST_INVALID"),
        ("/v2/app/blobs/uploads/not-hex!", "BLOB_UPLOAD_UNKNOWN"),
    ];
    for (path, code) in cases {
        assert_eq!(parse(path).unwrap_err().code(), code, "{path}");
    }
    for good in [
        "a",
        "a.b",
        "a_b",
        "a__b",
        "a---b",
        "x/y/z9",
        "library/hello-world",
    ] {
        assert!(repository(good).is_ok(), "{good}");
    }
}

#[test]
fn actions_follow_methods() {
    let manifest = parse("/v2/app/manifests/v1").unwrap().unwrap();
    assert_eq!(manifest.scope(&Method::GET), Some(("app", Action::Pull)));
    assert_eq!(manifest.scope(&Method::HEAD), Some(("app", Action::Pull)));
    assert_eq!(manifest.scope(&Method::PUT), Some(("app", Action::Push)));
    assert_eq!(
        manifest.scope(&Method::DELETE),
        Some(("app", Action::Delete))
    );
    let upload = parse("/v2/app/blobs/uploads/").unwrap().unwrap();
    assert_eq!(upload.scope(&Method::POST), Some(("app", Action::Push)));
    // Even reading an upload's progress needs push: the session belongs to a pusher.
    let session = parse("/v2/app/blobs/uploads/ab").unwrap().unwrap();
    assert_eq!(session.scope(&Method::GET), Some(("app", Action::Push)));
    assert_eq!(Route::Version.scope(&Method::GET), None);
}
