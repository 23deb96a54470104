//! `GET /openapi/v3[/<group-version>]`: the documents of `skiff_api::openapi` with the caching
//! headers kube-apiserver sends (kube-openapi's `handler3`), which kubectl's HTTP cache obeys.
//!
//! Every answer carries the document's hash as its ETag, and `If-None-Match` with that ETag
//! gets 304. A group/version document asked for with its current `?hash=` may be cached for a
//! year (the URL changes when the content does); an outdated hash is redirected to the
//! current URL, so a cache never keeps new content under an old hash.

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use skiff_api::openapi::{self, Document};
use skiff_api::status::ApiError;

use skiff_respond::{self as respond, Body};

/// What `Cache-Control` says of a document asked for by its current hash.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `GET /openapi/v2`: gnostic protobuf for a client that asks for it (kubectl asks for
/// nothing else), JSON otherwise; the ETag is the hash of the JSON, as for v3.
pub(crate) fn serve_v2(headers: &HeaderMap) -> Response<Body> {
    let doc = openapi::v2();
    let etag = format!("\"{}\"", doc.hash);
    if matches(headers, &etag) {
        let mut r = Response::new(respond::full(bytes::Bytes::new()));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        return r;
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (content_type, body) = if accept.contains("protobuf") {
        (openapi::V2_PROTOBUF_CONTENT_TYPE, &doc.protobuf)
    } else {
        ("application/json", &doc.json)
    };
    let mut response = respond::bytes(
        StatusCode::OK,
        content_type,
        bytes::Bytes::from_static(body),
    );
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

/// The index (`rest` empty) or the document of one group/version (`rest` = `apis/apps/v1`).
pub(crate) fn serve(rest: &str, query: &str, headers: &HeaderMap) -> Response<Body> {
    if rest.is_empty() {
        return answer(openapi::root(), headers, false);
    }
    let Some(doc) = openapi::group_version(rest) else {
        let missing = ApiError::new(404, "NotFound", "no OpenAPI document here");
        return respond::json(StatusCode::NOT_FOUND, &missing.to_json());
    };
    match requested_hash(query) {
        Some(hash) if hash == doc.hash => answer(doc, headers, true),
        Some(_) => redirect(&doc.url()),
        None => answer(doc, headers, false),
    }
}

/// The value of the `hash` query parameter, if any (hashes are hex: nothing to decode).
fn requested_hash(query: &str) -> Option<&str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("hash="))
        .filter(|h| !h.is_empty())
}

fn answer(doc: &'static Document, headers: &HeaderMap, immutable: bool) -> Response<Body> {
    let etag = format!("\"{}\"", doc.hash);
    let mut response = if matches(headers, &etag) {
        let mut r = Response::new(respond::full(bytes::Bytes::new()));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        respond::bytes(
            StatusCode::OK,
            "application/json",
            bytes::Bytes::from_static(&doc.json),
        )
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    if immutable {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    }
    response
}

/// `If-None-Match` names `etag` (or is `*`).
fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

/// 301 to the current URL of a document asked for by an outdated hash.
fn redirect(url: &str) -> Response<Body> {
    let mut response = respond::text(StatusCode::MOVED_PERMANENTLY, "");
    if let Ok(v) = HeaderValue::from_str(url) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH, LOCATION};

    use super::*;

    fn get(rest: &str, query: &str, if_none_match: Option<&str>) -> Response<Body> {
        let mut headers = HeaderMap::new();
        if let Some(tag) = if_none_match {
            headers.insert(IF_NONE_MATCH, HeaderValue::from_str(tag).unwrap());
        }
        serve(rest, query, &headers)
    }

    #[test]
    fn current_hash_is_cacheable_and_an_old_one_is_redirected() {
        let doc = openapi::group_version("apis/apps/v1").unwrap();
        let etag = format!("\"{}\"", doc.hash);

        let r = get("apis/apps/v1", &format!("hash={}", doc.hash), None);
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[ETAG], etag.as_str());
        assert_eq!(r.headers()[CACHE_CONTROL], IMMUTABLE);

        let r = get("apis/apps/v1", "", None);
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers().get(CACHE_CONTROL).is_none());

        let r = get("apis/apps/v1", "hash=0123", None);
        assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(r.headers()[LOCATION], doc.url().as_str());

        let r = get("apis/apps/v1", "", Some(&etag));
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(r.headers()[ETAG], etag.as_str());
        assert_eq!(
            get("apis/apps/v1", "", Some("\"old\"")).status(),
            StatusCode::OK
        );

        assert_eq!(
            get("apis/apps/v9", "", None).status(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn index_carries_its_etag() {
        let root = openapi::root();
        let etag = format!("\"{}\"", root.hash);
        let r = get("", "", None);
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[ETAG], etag.as_str());
        assert_eq!(get("", "", Some(&etag)).status(), StatusCode::NOT_MODIFIED);
    }
}
