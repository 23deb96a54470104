//! Chunked uploads relayed while they arrive ([`crate::relay`]), through [`Registry::serve`]
//! over a store whose one "peer" reads the feed: the peer reads a `PATCH` before it ends,
//! learns the digest from the closing `PUT`, and a chunk that breaks off, a wrong digest or a
//! second writer leaves nothing behind.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;

use crate::feed::FeedError;
use crate::files::BlobFiles;
use crate::tests_push::{OnePeer, Received, Upload, setup, upload};
use crate::{BodyError, BodyStream, Digest, Registry, RegistryRequest, route};

type Reg = Registry<OnePeer>;

/// A request's body: whole, or arriving on a stream (as the API server hands a `PATCH`
/// without `Content-Range` or a closing `PUT`).
enum Sent {
    Whole(Vec<u8>),
    Stream(Box<dyn futures::Stream<Item = Result<Bytes, String>> + Send + Sync + Unpin>),
}

async fn serve(
    reg: &Reg,
    method: Method,
    uri: &str,
    headers: &[(&'static str, String)],
    body: Sent,
) -> (StatusCode, HeaderMap, Bytes) {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(*name, value.parse().unwrap());
    }
    let (body, stream) = match body {
        Sent::Whole(bytes) => (Bytes::from(bytes), None),
        Sent::Stream(pieces) => {
            let pieces = pieces.map(|piece| piece.map_err(BodyError::from));
            (Bytes::new(), Some(BodyStream::new(pieces)))
        }
    };
    let request = RegistryRequest {
        method,
        route: route::parse(path).unwrap().expect("a registry path"),
        query: query.to_owned(),
        headers: map,
        body,
        stream,
    };
    let (parts, body) = reg.serve(request, 1_000).await.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, body)
}

fn streamed() -> (Upload, Sent) {
    let (client, pieces) = upload();
    (client, Sent::Stream(Box::new(pieces)))
}

/// A registry with files over one peer; the session's location.
async fn started() -> (tempfile::TempDir, Arc<BlobFiles>, Reg, Peer, String) {
    let (dir, files, peer, seen) = setup();
    let watch = Peer {
        received: peer.received.clone(),
        named: peer.named.clone(),
        fail_next: peer.fail_next.clone(),
        seen,
    };
    let reg = Registry::new(peer).with_files(files.clone());
    let (status, headers, _) = serve(
        &reg,
        Method::POST,
        "/v2/app/blobs/uploads/",
        &[],
        Sent::Whole(vec![]),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let location = headers["location"].to_str().unwrap().to_owned();
    (dir, files, reg, watch, location)
}

/// What the test sees of the peer after the registry took it.
struct Peer {
    received: Received,
    named: Arc<std::sync::Mutex<Option<Digest>>>,
    fail_next: Arc<std::sync::atomic::AtomicBool>,
    seen: tokio::sync::mpsc::UnboundedReceiver<usize>,
}

/// Sends `blob[from..]` in the closing `PUT` and checks that the blob is stored here and that
/// the peer got all of it, named by its digest.
async fn close_and_check(
    reg: &Reg,
    files: &BlobFiles,
    peer: &Peer,
    location: &str,
    blob: &[u8],
    from: usize,
) {
    let digest = Digest::of(blob);
    let put = format!("{location}?digest={digest}");
    let last = Sent::Whole(blob[from..].to_vec());
    let (status, ..) = serve(reg, Method::PUT, &put, &[], last).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(skiff_sync::lock(&peer.received).take() == Some(Ok(blob.to_vec())));
    assert_eq!(skiff_sync::lock(&peer.named).take(), Some(digest.clone()));
    assert_eq!(files.read(&digest).unwrap(), Some(blob.to_vec()));
}

fn blob() -> Vec<u8> {
    (0..3_000_000u32).map(|i| (i % 241) as u8).collect()
}

#[tokio::test]
async fn a_patch_reaches_the_peer_while_it_arrives_and_the_put_names_the_digest() {
    let (_dir, files, reg, mut peer, location) = started().await;
    let blob = blob();
    let digest = Digest::of(&blob);
    let (client, body) = streamed();
    let patch = serve(&reg, Method::PATCH, &location, &[], body);
    let drive = async {
        client
            .send(Ok(Bytes::copy_from_slice(&blob[..1000])))
            .unwrap();
        // The peer reads the first piece while the PATCH is still arriving.
        assert_eq!(peer.seen.recv().await, Some(1000));
        client
            .send(Ok(Bytes::copy_from_slice(&blob[1000..1_000_000])))
            .unwrap();
        drop(client);
    };
    let ((status, headers, _), ()) = tokio::join!(patch, drive);
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(headers["range"], "0-999999");
    // A chunk with Content-Range, read whole (as `skiff push` sends them).
    let range = [("content-range", "1000000-1999999".to_owned())];
    let chunk = Sent::Whole(blob[1_000_000..2_000_000].to_vec());
    let (status, ..) = serve(&reg, Method::PATCH, &location, &range, chunk).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    close_and_check(&reg, &files, &peer, &location, &blob, 2_000_000).await;
    let head = format!("/v2/app/blobs/{digest}");
    let (status, ..) = serve(&reg, Method::HEAD, &head, &[], Sent::Whole(vec![])).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_patch_that_breaks_off_ends_the_session_here_and_on_the_peer() {
    let (dir, _files, reg, peer, location) = started().await;
    let (client, body) = streamed();
    client.send(Ok(Bytes::from(vec![1u8; 5000]))).unwrap();
    client.send(Err("connection reset".into())).unwrap();
    let (status, ..) = serve(&reg, Method::PATCH, &location, &[], body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _, body) = serve(&reg, Method::GET, &location, &[], Sent::Whole(vec![])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(crate::tests::code(&body), "BLOB_UPLOAD_UNKNOWN");
    // The peer's transfer ends broken off once the session's relay is gone.
    for _ in 0..100 {
        if skiff_sync::lock(&peer.received).is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let received = skiff_sync::lock(&peer.received).take();
    assert!(matches!(received, None | Some(Err(FeedError::BrokenOff))));
    let leftovers = std::fs::read_dir(dir.path().join("tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "no temporary file stays");
}

#[tokio::test]
async fn a_put_naming_another_digest_stores_nothing() {
    let (dir, files, reg, _peer, location) = started().await;
    let chunk = Sent::Whole(b"the bytes sent".to_vec());
    let (status, ..) = serve(&reg, Method::PATCH, &location, &[], chunk).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let claimed = Digest::of(b"other bytes");
    let put = format!("{location}?digest={claimed}");
    let (status, _, body) = serve(&reg, Method::PUT, &put, &[], Sent::Whole(vec![])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(crate::tests::code(&body), "DIGEST_INVALID");
    assert!(!files.contains(claimed.hex()));
    let head = format!("/v2/app/blobs/{claimed}");
    let (status, ..) = serve(&reg, Method::HEAD, &head, &[], Sent::Whole(vec![])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let leftovers = std::fs::read_dir(dir.path().join("tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "no temporary file stays");
}

#[tokio::test]
async fn a_second_request_while_a_patch_writes_is_refused_and_the_first_goes_on() {
    let (_dir, files, reg, mut peer, location) = started().await;
    let (client, body) = streamed();
    let first = serve(&reg, Method::PATCH, &location, &[], body);
    let second = async {
        client.send(Ok(Bytes::from_static(b"first "))).unwrap();
        assert_eq!(peer.seen.recv().await, Some(6));
        let meanwhile = Sent::Whole(b"second".to_vec());
        let refused = serve(&reg, Method::PATCH, &location, &[], meanwhile).await;
        let put = format!("{location}?digest={}", Digest::of(b"x"));
        let closing = serve(&reg, Method::PUT, &put, &[], Sent::Whole(vec![])).await;
        client.send(Ok(Bytes::from_static(b"chunk"))).unwrap();
        drop(client);
        (refused, closing)
    };
    let ((status, ..), (refused, closing)) = tokio::join!(first, second);
    assert_eq!(status, StatusCode::ACCEPTED);
    for (status, _, body) in [refused, closing] {
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(crate::tests::code(&body), "BLOB_UPLOAD_INVALID");
    }
    let digest = Digest::of(b"first chunk");
    let put = format!("{location}?digest={digest}");
    let (status, ..) = serve(&reg, Method::PUT, &put, &[], Sent::Whole(vec![])).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(files.read(&digest).unwrap(), Some(b"first chunk".to_vec()));
}

#[tokio::test]
async fn a_relay_that_fails_is_replaced_by_the_whole_file_at_the_put() {
    let (_dir, files, reg, peer, location) = started().await;
    peer.fail_next
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let blob = blob();
    let chunk = Sent::Whole(blob[..2_000_000].to_vec());
    let (status, ..) = serve(&reg, Method::PATCH, &location, &[], chunk).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    close_and_check(&reg, &files, &peer, &location, &blob, 2_000_000).await;
}
