//! URL path -> the file's response: `ETag` and `304`, gzip when accepted, a redirect from
//! `/dashboard` to `/dashboard/`, `404` for a file that is not there, `405` for a write.

use std::io::Write as _;
use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use sha2::{Digest as _, Sha256};

use crate::assets::{ASSETS, Asset};

/// The URL path the dashboard is served under.
pub const PREFIX: &str = "/dashboard";

/// The page may load only its own files and call only its own origin; it may not be framed.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
                   script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

/// One file, ready to send.
struct Prepared {
    asset: &'static Asset,
    etag: HeaderValue,
    gzipped: Bytes,
}

/// The files with their ETags and gzipped bodies, computed at the first request.
fn prepared() -> &'static [Prepared] {
    static PREPARED: OnceLock<Vec<Prepared>> = OnceLock::new();
    PREPARED.get_or_init(|| ASSETS.iter().map(prepare).collect())
}

fn prepare(asset: &'static Asset) -> Prepared {
    let hash = hex::encode(&Sha256::digest(asset.bytes)[..12]);
    let etag = HeaderValue::from_str(&format!("\"{hash}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail; an empty body would only cost the browser a retry.
    let gzipped = encoder
        .write_all(asset.bytes)
        .and_then(|()| encoder.finish())
        .unwrap_or_default();
    Prepared {
        asset,
        etag,
        gzipped: Bytes::from(gzipped),
    }
}

/// Answers a request for a path under [`PREFIX`]; `None` when `path` is not the dashboard's.
pub fn serve(method: &Method, path: &str, headers: &HeaderMap) -> Option<Response<Bytes>> {
    let rest = path.strip_prefix(PREFIX)?;
    let file = match rest {
        "" => return Some(redirect(&format!("{PREFIX}/"))),
        "/" => "index.html",
        other => other.strip_prefix('/')?,
    };
    if method != Method::GET && method != Method::HEAD {
        return Some(plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "the dashboard's files are read-only\n",
        ));
    }
    let Some(prepared) = prepared().iter().find(|p| p.asset.path == file) else {
        return Some(plain(
            StatusCode::NOT_FOUND,
            "no such file in the dashboard\n",
        ));
    };
    Some(answer(prepared, method == Method::HEAD, headers))
}

fn answer(prepared: &Prepared, head: bool, headers: &HeaderMap) -> Response<Bytes> {
    let builder = Response::builder()
        .header(header::ETAG, prepared.etag.clone())
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::VARY, "Accept-Encoding")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CONTENT_SECURITY_POLICY, CSP);
    if matches_etag(headers, &prepared.etag) {
        return finish(builder.status(StatusCode::NOT_MODIFIED), Bytes::new());
    }
    let builder = builder.header(header::CONTENT_TYPE, prepared.asset.content_type);
    let (builder, body) = if accepts_gzip(headers) && !prepared.gzipped.is_empty() {
        let builder = builder.header(header::CONTENT_ENCODING, "gzip");
        (builder, prepared.gzipped.clone())
    } else {
        (builder, Bytes::from_static(prepared.asset.bytes))
    };
    let builder = builder.header(header::CONTENT_LENGTH, body.len());
    finish(builder, if head { Bytes::new() } else { body })
}

/// Whether `If-None-Match` names this ETag (or `*`).
fn matches_etag(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let Some(wanted) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let ours = etag.to_str().unwrap_or_default();
    wanted
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == ours)
}

/// Whether `Accept-Encoding` lists gzip with a non-zero weight.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let zero = parts.any(|p| matches!(p, "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !zero
        })
}

fn redirect(location: &str) -> Response<Bytes> {
    let builder = Response::builder()
        .status(StatusCode::MOVED_PERMANENTLY)
        .header(header::LOCATION, location);
    finish(builder, Bytes::new())
}

fn plain(status: StatusCode, message: &'static str) -> Response<Bytes> {
    let builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8");
    finish(builder, Bytes::from_static(message.as_bytes()))
}

/// Builds the response; the headers above are all valid, so this never falls back in practice.
fn finish(builder: http::response::Builder, body: Bytes) -> Response<Bytes> {
    builder.body(body).unwrap_or_else(|_| {
        let mut response = Response::new(Bytes::new());
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        response
    })
}

#[cfg(test)]
mod tests;
