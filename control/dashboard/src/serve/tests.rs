//! The file server by table: paths, methods, ETags, gzip; and every embedded file is reachable.

use std::io::Read as _;

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use super::serve;
use crate::assets::ASSETS;

fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(name.clone(), HeaderValue::from_str(value).unwrap());
    }
    map
}

#[test]
fn paths_and_methods() {
    let cases: &[(Method, &str, Option<StatusCode>)] = &[
        (
            Method::GET,
            "/dashboard",
            Some(StatusCode::MOVED_PERMANENTLY),
        ),
        (Method::GET, "/dashboard/", Some(StatusCode::OK)),
        (Method::HEAD, "/dashboard/", Some(StatusCode::OK)),
        (Method::GET, "/dashboard/index.html", Some(StatusCode::OK)),
        (Method::GET, "/dashboard/js/app.js", Some(StatusCode::OK)),
        (
            Method::GET,
            "/dashboard/js/nope.js",
            Some(StatusCode::NOT_FOUND),
        ),
        (
            Method::GET,
            "/dashboard/../Cargo.toml",
            Some(StatusCode::NOT_FOUND),
        ),
        (
            Method::POST,
            "/dashboard/",
            Some(StatusCode::METHOD_NOT_ALLOWED),
        ),
        (Method::GET, "/dashboardx", None),
        (Method::GET, "/api/v1/pods", None),
    ];
    for (method, path, want) in cases {
        let got = serve(method, path, &HeaderMap::new()).map(|r| r.status());
        assert_eq!(got, *want, "{method} {path}");
    }
}

#[test]
fn content_types_and_security_headers() {
    let cases = [
        ("/dashboard/", "text/html; charset=utf-8"),
        ("/dashboard/style.css", "text/css; charset=utf-8"),
        ("/dashboard/js/api.js", "text/javascript; charset=utf-8"),
        ("/dashboard/icon.svg", "image/svg+xml"),
    ];
    for (path, content_type) in cases {
        let response = serve(&Method::GET, path, &HeaderMap::new()).unwrap();
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            content_type,
            "{path}"
        );
        assert_eq!(
            response.headers()[header::X_CONTENT_TYPE_OPTIONS],
            "nosniff"
        );
        assert!(
            response
                .headers()
                .contains_key(header::CONTENT_SECURITY_POLICY)
        );
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
    }
}

#[test]
fn a_known_etag_gets_304_and_another_gets_the_file() {
    let first = serve(&Method::GET, "/dashboard/", &HeaderMap::new()).unwrap();
    let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
    let cases = [
        (etag.clone(), StatusCode::NOT_MODIFIED),
        (format!("\"other\", {etag}"), StatusCode::NOT_MODIFIED),
        (format!("W/{etag}"), StatusCode::NOT_MODIFIED),
        ("*".to_owned(), StatusCode::NOT_MODIFIED),
        ("\"other\"".to_owned(), StatusCode::OK),
    ];
    for (if_none_match, want) in cases {
        let request = headers(&[(header::IF_NONE_MATCH, &if_none_match)]);
        let response = serve(&Method::GET, "/dashboard/", &request).unwrap();
        assert_eq!(response.status(), want, "If-None-Match: {if_none_match}");
        if want == StatusCode::NOT_MODIFIED {
            assert!(response.body().is_empty());
        }
    }
}

#[test]
fn gzip_only_when_accepted_and_it_unpacks_to_the_file() {
    let cases = [
        ("gzip, deflate, br", true),
        ("br;q=1.0, GZIP;q=0.5", true),
        ("gzip;q=0", false),
        ("identity", false),
        ("", false),
    ];
    let plain = serve(&Method::GET, "/dashboard/js/app.js", &HeaderMap::new()).unwrap();
    for (accept, gzipped) in cases {
        let request = headers(&[(header::ACCEPT_ENCODING, accept)]);
        let response = serve(&Method::GET, "/dashboard/js/app.js", &request).unwrap();
        let encoding = response.headers().get(header::CONTENT_ENCODING);
        assert_eq!(encoding.is_some(), gzipped, "Accept-Encoding: {accept}");
        let length: usize = response.headers()[header::CONTENT_LENGTH]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, response.body().len());
        if gzipped {
            let mut unpacked = Vec::new();
            flate2::read::GzDecoder::new(&response.body()[..])
                .read_to_end(&mut unpacked)
                .unwrap();
            assert_eq!(unpacked, plain.body().as_ref());
            assert!(response.body().len() < plain.body().len());
        }
    }
}

#[test]
fn every_module_the_page_imports_is_embedded() {
    // Each `from './x.js'` in a module and each `src`/`href` in the page names an embedded file.
    let known: Vec<&str> = ASSETS.iter().map(|a| a.path).collect();
    for asset in ASSETS {
        let text = std::str::from_utf8(asset.bytes).unwrap();
        for piece in text.split("from './").skip(1) {
            let name = piece.split('\'').next().unwrap();
            let path = format!("js/{name}");
            assert!(
                known.contains(&path.as_str()),
                "{} imports {path}",
                asset.path
            );
        }
        for attribute in ["src=\"", "href=\""] {
            for piece in text.split(attribute).skip(1) {
                let name = piece.split('"').next().unwrap();
                if name.starts_with('#') || name.starts_with("http") {
                    continue;
                }
                assert!(known.contains(&name), "{} links {name}", asset.path);
            }
        }
    }
}

#[test]
fn the_first_load_stays_small() {
    // Issue 19's budget is 300 KiB for the first load; the files, gzipped, are far below it.
    let request = headers(&[(header::ACCEPT_ENCODING, "gzip")]);
    let total: usize = ASSETS
        .iter()
        .map(|a| {
            let path = format!("/dashboard/{}", a.path);
            serve(&Method::GET, &path, &request).unwrap().body().len()
        })
        .sum();
    assert!(total < 100 * 1024, "{total} bytes gzipped");
}

#[test]
fn the_page_preloads_every_module() {
    // So the browser fetches them all at once, not one import level after another.
    let page = std::str::from_utf8(ASSETS[0].bytes).unwrap();
    for asset in ASSETS
        .iter()
        .filter(|a| a.path.starts_with("js/") && a.path != "js/app.js")
    {
        let link = format!("<link rel=\"modulepreload\" href=\"{}\">", asset.path);
        assert!(
            page.contains(&link),
            "index.html does not preload {}",
            asset.path
        );
    }
}
