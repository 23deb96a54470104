//! The protocol over an in-memory store: pushes (monolithic, chunked, mounted), pulls, tags,
//! referrers, deletes, the spec's error codes, and garbage collection.

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use skiff_respond::Body;

use crate::manifest::{OCI_MANIFEST, WASM_CONFIG, WASM_LAYER};
use crate::storage::{CHUNK_BYTES, CHUNKS, list_all};
use crate::{Digest, MemoryStorage, Registry, RegistryRequest, Storage, gc, route};

pub(crate) type Reg = Registry<MemoryStorage>;

pub(crate) async fn call(
    reg: &Reg,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, HeaderMap, Bytes) {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let route = match route::parse(path) {
        Ok(r) => r.expect("a registry path"),
        Err(e) => return into_parts(e.response(false)).await,
    };
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let mut request = RegistryRequest {
        method,
        route,
        query: query.to_owned(),
        headers: map,
        body: Bytes::new(),
        stream: None,
    };
    // As the API server does: the body of a blob's last request arrives as a stream (here in
    // pieces of 64 KiB), every other body whole.
    if request.wants_stream() {
        let pieces: Vec<Result<Bytes, crate::BodyError>> = body
            .chunks(64 * 1024)
            .map(|piece| Ok(Bytes::copy_from_slice(piece)))
            .collect();
        request.stream = Some(crate::BodyStream::new(futures::stream::iter(pieces)));
    } else {
        request.body = body.into();
    }
    into_parts(reg.serve(request, 1_000).await).await
}

async fn into_parts(response: Response<Body>) -> (StatusCode, HeaderMap, Bytes) {
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

pub(crate) fn code(body: &Bytes) -> String {
    let v: Value = serde_json::from_slice(body).unwrap();
    v["errors"][0]["code"].as_str().unwrap().to_owned()
}

pub(crate) async fn push_blob(reg: &Reg, name: &str, bytes: &[u8]) -> String {
    let digest = Digest::of(bytes).to_string();
    let (status, ..) = call(
        reg,
        Method::POST,
        &format!("/v2/{name}/blobs/uploads/?digest={digest}"),
        &[],
        bytes.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    digest
}

fn wasm_manifest(config: &str, layer: &str, layer_size: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": WASM_CONFIG,
        "config": {"mediaType": WASM_CONFIG, "digest": config, "size": 2},
        "layers": [{"mediaType": WASM_LAYER, "digest": layer, "size": layer_size}],
    }))
    .unwrap()
}

#[tokio::test]
async fn a_chunked_push_of_a_large_module_pulls_back_identical() {
    let reg = Registry::new(MemoryStorage::default());
    let module: Vec<u8> = (0..CHUNK_BYTES * 3 + 12_345)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let (status, headers, _) =
        call(&reg, Method::POST, "/v2/app/blobs/uploads/", &[], vec![]).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let mut location = headers["location"].to_str().unwrap().to_owned();
    let mut sent = 0;
    for piece in module.chunks(1_500_000) {
        let range = format!("{}-{}", sent, sent + piece.len() - 1);
        let (status, headers, _) = call(
            &reg,
            Method::PATCH,
            &location,
            &[("content-range", &range)],
            piece.to_vec(),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        sent += piece.len();
        assert_eq!(headers["range"], format!("0-{}", sent - 1).as_str());
        location = headers["location"].to_str().unwrap().to_owned();
    }
    // A chunk that does not start where the upload ends is refused with 416.
    let (status, _, body) = call(
        &reg,
        Method::PATCH,
        &location,
        &[("content-range", "0-1")],
        vec![1, 2],
    )
    .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID")
    );
    let digest = Digest::of(&module).to_string();
    let (status, headers, _) = call(
        &reg,
        Method::PUT,
        &format!("{location}?digest={digest}"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(headers["docker-content-digest"], digest.as_str());
    let config = push_blob(&reg, "app", b"{}").await;
    let manifest = wasm_manifest(&config, &digest, module.len());
    let (status, headers, _) = call(
        &reg,
        Method::PUT,
        "/v2/app/manifests/v1",
        &[("content-type", OCI_MANIFEST)],
        manifest.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        headers["docker-content-digest"],
        Digest::of(&manifest).to_string().as_str()
    );
    let (status, headers, body) =
        call(&reg, Method::GET, "/v2/app/manifests/v1", &[], vec![]).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &manifest[..]));
    assert_eq!(headers["content-type"], OCI_MANIFEST);
    let (status, _, body) = call(
        &reg,
        Method::GET,
        &format!("/v2/app/blobs/{digest}"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body[..] == module[..], "the pulled blob differs");
    let chunks = list_all(reg.storage(), CHUNKS).await.unwrap();
    assert_eq!(chunks.len(), 5, "1 chunk of config, 4 of module");
    assert!(chunks.iter().all(|c| c.value.len() <= CHUNK_BYTES));
}

#[tokio::test]
async fn wrong_digest_bad_manifest_and_missing_blob_get_the_spec_codes() {
    let reg = Registry::new(MemoryStorage::default());
    let other = Digest::of(b"other").to_string();
    let (status, _, body) = call(
        &reg,
        Method::POST,
        &format!("/v2/app/blobs/uploads/?digest={other}"),
        &[],
        b"content".to_vec(),
    )
    .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "DIGEST_INVALID")
    );
    let (status, _, body) = call(
        &reg,
        Method::PUT,
        "/v2/app/manifests/v1",
        &[("content-type", OCI_MANIFEST)],
        b"{\"schemaVersion\":2".to_vec(),
    )
    .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "MANIFEST_INVALID")
    );
    let config = push_blob(&reg, "app", b"{}").await;
    let missing = Digest::of(b"never pushed").to_string();
    let manifest = wasm_manifest(&config, &missing, 12);
    let (status, _, body) = call(
        &reg,
        Method::PUT,
        "/v2/app/manifests/v1",
        &[],
        manifest.clone(),
    )
    .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN")
    );
    let (status, _, body) = call(
        &reg,
        Method::GET,
        &format!("/v2/app/blobs/{missing}"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::NOT_FOUND, "BLOB_UNKNOWN")
    );
    let (status, _, body) = call(
        &reg,
        Method::PUT,
        &format!("/v2/app/manifests/{other}"),
        &[],
        manifest,
    )
    .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "DIGEST_INVALID")
    );
    let (status, _, body) = call(&reg, Method::GET, "/v2/app/manifests/v1", &[], vec![]).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN")
    );
    let (status, _, body) = call(&reg, Method::GET, "/v2/nothing/tags/list", &[], vec![]).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::NOT_FOUND, "NAME_UNKNOWN")
    );
    let (status, _, body) = call(
        &reg,
        Method::PATCH,
        "/v2/app/blobs/uploads/abcdef",
        &[],
        vec![1],
    )
    .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN")
    );
}

#[tokio::test]
async fn tags_page_referrers_filter_and_deletes_untag() {
    let reg = Registry::new(MemoryStorage::default());
    let config = push_blob(&reg, "app", b"{}").await;
    let layer = push_blob(&reg, "app", b"\0asm\x01\0\0\0").await;
    let manifest = wasm_manifest(&config, &layer, 8);
    let subject = Digest::of(&manifest).to_string();
    for tag in ["c", "a", "b"] {
        let (status, ..) = call(
            &reg,
            Method::PUT,
            &format!("/v2/app/manifests/{tag}"),
            &[],
            manifest.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, headers, body) = call(&reg, Method::GET, "/v2/app/tags/list?n=2", &[], vec![]).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"name": "app", "tags": ["a", "b"]})
    );
    assert_eq!(
        headers["link"],
        "</v2/app/tags/list?n=2&last=b>; rel=\"next\""
    );
    let (_, _, body) = call(
        &reg,
        Method::GET,
        "/v2/app/tags/list?n=2&last=b",
        &[],
        vec![],
    )
    .await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["tags"],
        json!(["c"])
    );
    let signature = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.sig",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2},
        "layers": [{"mediaType": "text/plain", "digest": config, "size": 2}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": manifest.len()},
    })).unwrap();
    let sig_digest = Digest::of(&signature).to_string();
    let (status, headers, _) = call(
        &reg,
        Method::PUT,
        &format!("/v2/app/manifests/{sig_digest}"),
        &[],
        signature,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(headers["oci-subject"], subject.as_str());
    let (_, _, body) = call(
        &reg,
        Method::GET,
        &format!("/v2/app/referrers/{subject}"),
        &[],
        vec![],
    )
    .await;
    let index: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(index["manifests"][0]["digest"], json!(sig_digest));
    let (_, headers, body) = call(
        &reg,
        Method::GET,
        &format!("/v2/app/referrers/{subject}?artifactType=application%2Fwasm"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["manifests"],
        json!([])
    );
    assert_eq!(headers["oci-filters-applied"], "artifactType");
    let (status, ..) = call(&reg, Method::DELETE, "/v2/app/manifests/a", &[], vec![]).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, ..) = call(
        &reg,
        Method::DELETE,
        &format!("/v2/app/manifests/{subject}"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, _, body) = call(&reg, Method::GET, "/v2/app/tags/list", &[], vec![]).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["tags"],
        json!([]),
        "deleting by digest untags"
    );
    let (status, ..) = call(&reg, Method::GET, "/v2/app/manifests/b", &[], vec![]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn garbage_collection_sweeps_only_old_unreferenced_blobs_and_orphan_chunks() {
    let reg = Registry::new(MemoryStorage::default());
    let config = push_blob(&reg, "app", b"{}").await;
    let layer = push_blob(&reg, "app", b"\0asm\x01\0\0\0").await;
    let orphan = push_blob(&reg, "app", b"left behind").await;
    let (status, ..) = call(
        &reg,
        Method::PUT,
        "/v2/app/manifests/v1",
        &[],
        wasm_manifest(&config, &layer, 8),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // Chunks of an upload that never wrote its metadata, from time 500.
    reg.storage()
        .put(
            &format!("{CHUNKS}{}/500-ab/000000", "0".repeat(64)),
            vec![1],
        )
        .await
        .unwrap();
    // Within the grace period (blobs made at 1000, grace 100, now 1050): nothing goes.
    let kept = gc::collect(reg.storage(), None, 1_050, 100).await.unwrap();
    assert_eq!(
        kept,
        gc::Collected {
            blobs: vec![],
            orphan_chunks: 1
        }
    );
    let swept = gc::collect(reg.storage(), None, 1_100, 100).await.unwrap();
    assert_eq!(
        swept.blobs,
        vec![Digest::parse(&orphan).unwrap().hex().to_owned()]
    );
    let (status, ..) = call(
        &reg,
        Method::GET,
        &format!("/v2/app/blobs/{orphan}"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, ..) = call(
        &reg,
        Method::GET,
        &format!("/v2/app/blobs/{layer}"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "a referenced blob stays");
    assert_eq!(list_all(reg.storage(), CHUNKS).await.unwrap().len(), 2);
    // Deleting the manifest makes its blobs collectable.
    let manifest = Digest::of(&wasm_manifest(&config, &layer, 8)).to_string();
    call(
        &reg,
        Method::DELETE,
        &format!("/v2/app/manifests/{manifest}"),
        &[],
        vec![],
    )
    .await;
    let swept = gc::collect(reg.storage(), None, 1_100, 100).await.unwrap();
    assert_eq!(swept.blobs.len(), 2);
    assert!(list_all(reg.storage(), CHUNKS).await.unwrap().is_empty());
}

#[test]
fn upload_ids_carry_their_age() {
    assert!(gc::upload_expired("100-ff", 200, 100));
    assert!(!gc::upload_expired("150-ff", 200, 100));
    assert!(gc::upload_expired("garbage", 200, 100));
}
