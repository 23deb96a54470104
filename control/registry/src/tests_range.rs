//! Blob reads as streams: `Range` requests (206 with `Content-Range`, 416 with `bytes */size`,
//! ranges across chunk boundaries and in blobs stored before chunk sizes were recorded), and a
//! damaged store cutting a whole read short instead of serving wrong bytes.

use http::{Method, StatusCode};

use crate::blobs::Layout;
use crate::storage::{BlobMeta, CHUNKS, Storage, blob_key, decode, encode, list_all};
use crate::tests::{Reg, call, code, push_blob};
use crate::{Digest, MemoryStorage, Registry};

/// A registry cutting blobs into 1,000-byte chunks, holding one blob of 4,500 bytes.
async fn small_chunks() -> (Reg, Vec<u8>, String) {
    let layout = Layout {
        chunk_bytes: 1_000,
        in_flight: 3,
    };
    let reg = Registry::new(MemoryStorage::default()).with_layout(layout);
    let blob: Vec<u8> = (0..4_500u32).map(|i| (i * 13 % 251) as u8).collect();
    let digest = push_blob(&reg, "app", &blob).await;
    (reg, blob, digest)
}

#[tokio::test]
async fn one_range_is_206_with_its_bytes_across_chunk_boundaries() {
    let (reg, blob, digest) = small_chunks().await;
    let uri = format!("/v2/app/blobs/{digest}");
    let cases: &[(&str, usize, usize)] = &[
        ("bytes=0-0", 0, 0),
        ("bytes=990-2010", 990, 2010),
        ("bytes=1000-1999", 1000, 1999),
        ("bytes=4000-", 4000, 4499),
        ("bytes=-501", 3999, 4499),
        ("bytes=10-999999", 10, 4499),
    ];
    for (range, first, last) in cases {
        let (status, headers, body) =
            call(&reg, Method::GET, &uri, &[("range", range)], vec![]).await;
        assert_eq!(status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            headers["content-range"],
            format!("bytes {first}-{last}/4500").as_str()
        );
        assert_eq!(
            headers["content-length"],
            (last - first + 1).to_string().as_str()
        );
        assert!(body[..] == blob[*first..=*last], "{range}: wrong bytes");
        assert_eq!(headers["docker-content-digest"], digest.as_str());
    }
    // No Range, several ranges, another unit: the whole blob, and ranges are advertised.
    for range in [None, Some("bytes=0-1,5-6"), Some("items=0-1")] {
        let headers: Vec<(&str, &str)> = range.map(|r| ("range", r)).into_iter().collect();
        let (status, answer, body) = call(&reg, Method::GET, &uri, &headers, vec![]).await;
        assert_eq!(status, StatusCode::OK, "{range:?}");
        assert_eq!(answer["accept-ranges"], "bytes");
        assert!(body[..] == blob[..], "{range:?}: wrong bytes");
    }
}

#[tokio::test]
async fn a_bad_range_is_416_naming_the_size() {
    let (reg, _, digest) = small_chunks().await;
    let uri = format!("/v2/app/blobs/{digest}");
    for range in ["bytes=4500-", "bytes=9-5", "bytes=x-1", "bytes=-0"] {
        let (status, headers, body) =
            call(&reg, Method::GET, &uri, &[("range", range)], vec![]).await;
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(headers["content-range"], "bytes */4500");
        assert_eq!(code(&body), "RANGE_INVALID");
    }
    // HEAD ignores Range and reports the whole size.
    let (status, headers, body) = call(
        &reg,
        Method::HEAD,
        &uri,
        &[("range", "bytes=4500-")],
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-length"], "4500");
    assert!(body.is_empty());
}

#[tokio::test]
async fn blobs_stored_before_chunk_sizes_were_recorded_read_as_1_mib_chunks() {
    let reg = Registry::new(MemoryStorage::default());
    let blob: Vec<u8> = (0..(1 << 20) + 700u32).map(|i| (i % 241) as u8).collect();
    let digest = push_blob(&reg, "app", &blob).await;
    let key = blob_key(&Digest::parse(&digest).unwrap());
    let stored = reg.storage().get(&key, crate::Freshness::Latest).await;
    let meta: BlobMeta = decode(&stored.unwrap().unwrap()).unwrap();
    let mut old = serde_json::to_value(&meta).unwrap();
    old.as_object_mut().unwrap().remove("chunk_bytes");
    reg.storage().put(&key, encode(&old)).await.unwrap();
    let uri = format!("/v2/app/blobs/{digest}");
    let (status, _, body) = call(
        &reg,
        Method::GET,
        &uri,
        &[("range", "bytes=1048000-1048999")],
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert!(body[..] == blob[1_048_000..1_049_000]);
}

#[tokio::test]
async fn a_damaged_blob_is_cut_short_never_served_whole() {
    let (reg, blob, digest) = small_chunks().await;
    let chunks = list_all(reg.storage(), CHUNKS).await.unwrap();
    let last = chunks.iter().map(|c| c.key.clone()).max().unwrap();
    reg.storage().put(&last, vec![0; 500]).await.unwrap();
    let uri = format!("/v2/app/blobs/{digest}");
    let (status, headers, body) = call(&reg, Method::GET, &uri, &[], vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-length"], "4500");
    assert_eq!(body.len(), 4_000, "the damaged last chunk is withheld");
    assert!(body[..] == blob[..4_000]);
}
