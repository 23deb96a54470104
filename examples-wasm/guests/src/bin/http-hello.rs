//! A wasi:http proxy component: answers every request with a greeting and the path.
use wstd::http::body::Body;
use wstd::http::{Error, Request, Response};

#[wstd::http_server]
async fn main(request: Request<Body>) -> Result<Response<Body>, Error> {
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let greeting = std::env::var("GREETING").unwrap_or_else(|_| "hello from skiff".into());
    Ok(Response::new(format!("{greeting} {path}\n").into()))
}
