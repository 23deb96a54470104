//! Tests for `join::fetch_ca` against a tiny HTTPS server on 127.0.0.1:0.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::*;

/// Serves `GET /cacerts` with `ca`'s PEM over TLS until dropped; returns the base URL.
struct CaServer {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CaServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_ca(ca: &ClusterCa) -> CaServer {
    let acceptor = TlsAcceptor::from(server_config(&ca.issue_serving_cert(&[]).unwrap()).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let pem = Bytes::from(ca.cert_pem().to_owned());
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else {
                return;
            };
            let (acceptor, pem) = (acceptor.clone(), pem.clone());
            tokio::spawn(async move {
                let Some(tls) = accept_tls(&acceptor, tcp, peer).await else {
                    return;
                };
                let service = service_fn(move |req: Request<Incoming>| {
                    let pem = pem.clone();
                    async move {
                        let mut resp = Response::new(Full::new(Bytes::new()));
                        if req.uri().path() == "/cacerts" {
                            *resp.body_mut() = Full::new(pem);
                        } else {
                            *resp.status_mut() = StatusCode::NOT_FOUND;
                        }
                        Ok::<_, Infallible>(resp)
                    }
                });
                let conn = hyper::server::conn::http1::Builder::new();
                let _ = conn.serve_connection(TokioIo::new(tls), service).await;
            });
        }
    });
    CaServer { url, task }
}

#[tokio::test]
async fn the_right_token_fetches_the_ca() {
    let ca = ClusterCa::generate().unwrap();
    let server = serve_ca(&ca).await;
    let pem = fetch_ca(&server.url, &JoinToken::generate(&ca))
        .await
        .unwrap();
    assert_eq!(pem, ca.cert_pem());
    // With a trailing slash too.
    fetch_ca(&format!("{}/", server.url), &JoinToken::generate(&ca))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_token_pinning_another_ca_is_a_mismatch() {
    let ca = ClusterCa::generate().unwrap();
    let other = ClusterCa::generate().unwrap();
    let server = serve_ca(&ca).await;
    let err = fetch_ca(&server.url, &JoinToken::generate(&other))
        .await
        .unwrap_err();
    let JoinError::CaMismatch {
        expected,
        presented,
        url,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(expected, other.fingerprint());
    assert_eq!(presented, ca.fingerprint());
    assert_eq!(url, &server.url);
    let want = format!(
        "the server at {} presents cluster CA sha256:{}, but the token pins sha256:{}: \
         wrong token or wrong cluster",
        server.url,
        ca.fingerprint(),
        other.fingerprint()
    );
    assert_eq!(err.to_string(), want);
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    drop(listener);
    let ca = ClusterCa::generate().unwrap();
    let err = fetch_ca(&url, &JoinToken::generate(&ca)).await.unwrap_err();
    assert!(matches!(err, JoinError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("cannot reach {url}: ")),
        "{err}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn an_unpinned_token_needs_the_insecure_opt_in() {
    let ca = ClusterCa::generate().unwrap();
    let server = serve_ca(&ca).await;
    let short = JoinToken::parse("justasecret").unwrap();
    let err = fetch_ca(&server.url, &short).await.unwrap_err();
    assert!(matches!(err, JoinError::Unpinned { .. }), "{err}");
    let pem = fetch_ca_with(&server.url, &short, PinPolicy::InsecureAllowUnpinned)
        .await
        .unwrap();
    assert_eq!(pem, ca.cert_pem());
}

#[tokio::test]
async fn bad_urls_are_refused_before_connecting() {
    let ca = ClusterCa::generate().unwrap();
    let token = JoinToken::generate(&ca);
    for url in ["http://127.0.0.1:1", "127.0.0.1:1", "https://"] {
        let err = fetch_ca(url, &token).await.unwrap_err();
        assert!(matches!(err, JoinError::InvalidUrl { .. }), "{url}: {err}");
    }
}
