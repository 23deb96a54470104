//! The pipe end to end: a kube-rs client's requests reach the handler with their token, many
//! at once, and once the server stops a dial fails instead of hanging.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio_util::sync::CancellationToken;

use crate::{PipeError, Retry, client, pipe, serve};

/// Answers `<method> <path?query> <authorization>`.
async fn echo(request: Request<Incoming>) -> Response<Full<Bytes>> {
    let auth = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let text = format!("{} {target} {auth}", request.method());
    Response::new(Full::new(Bytes::from(text)))
}

fn get(path: &str) -> Request<Vec<u8>> {
    Request::get(path).body(Vec::new()).expect("a request")
}

#[tokio::test]
async fn requests_reach_the_handler_with_their_token_many_at_once() {
    let (dialer, listener) = pipe();
    let stop = CancellationToken::new();
    let server = tokio::spawn(serve(listener, echo, stop.clone()));
    let kube = client(dialer, "s3cret", "default", Retry::Never).expect("a client");
    let answers = futures_join(&kube, 40).await;
    for (i, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer, format!("GET /api/v1/x{i}?watch=1 Bearer s3cret"));
    }
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server drains")
        .expect("the server task");
}

async fn futures_join(kube: &kube::Client, n: usize) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let kube = kube.clone();
        tasks.spawn(async move {
            let text = kube
                .request_text(get(&format!("/api/v1/x{i}?watch=1")))
                .await
                .expect("an answer");
            (i, text)
        });
    }
    let mut answers = vec![String::new(); n];
    while let Some(joined) = tasks.join_next().await {
        let (i, text) = joined.expect("a request task");
        answers[i] = text;
    }
    answers
}

#[tokio::test]
async fn a_stopped_server_refuses_dials_and_requests_fail() {
    let (dialer, listener) = pipe();
    let stop = CancellationToken::new();
    let server = tokio::spawn(serve(listener, echo, stop.clone()));
    stop.cancel();
    server.await.expect("the server task");
    assert!(matches!(dialer.dial(), Err(PipeError::Closed)));
    let kube = client(dialer, "s3cret", "default", Retry::Never).expect("a client");
    let failed = tokio::time::timeout(Duration::from_secs(10), kube.request_text(get("/api")))
        .await
        .expect("fails at once, not hangs");
    assert!(failed.is_err(), "{failed:?}");
}

/// Answers 503 to the first `failures` requests, then 200.
fn flaky(failures: usize) -> impl Fn(Request<Incoming>) -> FlakyAnswer + Clone {
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    move |_| {
        let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let status = if n < failures { 503 } else { 200 };
        let answer = Response::builder()
            .status(status)
            .body(Full::new(Bytes::from(format!("answer {n}"))))
            .expect("a response");
        std::future::ready(answer)
    }
}

type FlakyAnswer = std::future::Ready<Response<Full<Bytes>>>;

#[tokio::test]
async fn server_errors_are_retried_only_when_asked() {
    for (retry, want_ok) in [(Retry::ServerErrors, true), (Retry::Never, false)] {
        let (dialer, listener) = pipe();
        let stop = CancellationToken::new();
        let server = tokio::spawn(serve(listener, flaky(2), stop.clone()));
        let kube = client(dialer, "s3cret", "default", retry).expect("a client");
        let answer = kube.request_text(get("/api")).await;
        match want_ok {
            true => assert_eq!(answer.expect("retried to the 200"), "answer 2"),
            false => assert!(answer.is_err(), "{retry:?}: {answer:?}"),
        }
        stop.cancel();
        server.await.expect("the server task");
    }
}
