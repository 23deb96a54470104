//! Pulling Wasm artifacts from an OCI registry: a minimal in-process registry on 127.0.0.1
//! serves a manifest and blobs; digests are verified; basic auth is sent when configured.

use crate::support::{Harness, bounded, examples};
use anyhow::Result;
use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use skiff_runtime_wasm::image::{OciAuth, OciConfig};
use skiff_runtime_wasm::spec::{ContainerSpec, TerminationReason};
use skiff_runtime_wasm::{ImageError, RuntimeConfig, RuntimeError};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

struct Registry {
    /// path -> (content type, body)
    routes: HashMap<String, (String, Bytes)>,
    /// `Basic <b64>` required when set.
    auth: Option<String>,
}

fn digest(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

impl Registry {
    /// Publishes `repo:tag` whose Wasm layer is `layer`, but serves `served` as the blob.
    fn publish(&mut self, repo: &str, tag: &str, layer: &[u8], served: &[u8]) {
        let config = b"{}".to_vec();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.wasm.config.v0+json", "digest": digest(&config), "size": config.len()},
            "layers": [{"mediaType": "application/wasm", "digest": digest(layer), "size": layer.len()}]
        })
        .to_string();
        let oci = "application/vnd.oci.image.manifest.v1+json".to_string();
        let blob = "application/octet-stream".to_string();
        self.routes.insert(
            format!("/v2/{repo}/manifests/{tag}"),
            (oci, Bytes::from(manifest)),
        );
        self.routes.insert(
            format!("/v2/{repo}/blobs/{}", digest(layer)),
            (blob.clone(), Bytes::copy_from_slice(served)),
        );
        self.routes.insert(
            format!("/v2/{repo}/blobs/{}", digest(&config)),
            (blob, Bytes::from(config)),
        );
    }

    fn answer(&self, req: &Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let authorized = match &self.auth {
            None => true,
            Some(expected) => {
                req.headers()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    == Some(expected.as_str())
            }
        };
        let mut resp = if !authorized {
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r.headers_mut().insert(
                "www-authenticate",
                "Basic realm=\"skiff-test\"".parse().expect("header"),
            );
            return r;
        } else if req.uri().path() == "/v2/" {
            Response::new(Full::new(Bytes::new()))
        } else if let Some((ct, body)) = self.routes.get(req.uri().path()) {
            let mut r = Response::new(Full::new(body.clone()));
            r.headers_mut()
                .insert("content-type", ct.parse().expect("header"));
            if req.uri().path().contains("/manifests/") {
                r.headers_mut().insert(
                    "docker-content-digest",
                    digest(body).parse().expect("header"),
                );
            }
            r
        } else {
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        };
        resp.headers_mut().insert(
            "docker-distribution-api-version",
            "registry/2.0".parse().expect("header"),
        );
        resp
    }
}

async fn serve(registry: Arc<Registry>, shutdown: CancellationToken) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let (stream, _) = tokio::select! {
                r = listener.accept() => match r { Ok(s) => s, Err(_) => continue },
                () = shutdown.cancelled() => return,
            };
            let registry = registry.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let resp = registry.answer(&req);
                    async move { Ok::<_, std::convert::Infallible>(resp) }
                });
                tokio::select! {
                    _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc) => {}
                    () = shutdown.cancelled() => {}
                }
            });
        }
    });
    Ok(addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_verifies_and_runs_an_oci_wasm_artifact() -> Result<()> {
    bounded(async {
        let job = std::fs::read(examples().path("job"))?;
        let mut tampered = job.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 0xff;
        let mut registry = Registry {
            routes: HashMap::new(),
            auth: None,
        };
        registry.publish("skiff/job", "v1", &job, &job);
        registry.publish("skiff/evil", "v1", &job, &tampered);
        let shutdown = CancellationToken::new();
        let addr = serve(Arc::new(registry), shutdown.clone()).await?;

        let mut cfg = RuntimeConfig::new(tempfile::tempdir()?.keep());
        cfg.oci = OciConfig {
            auth: OciAuth::Anonymous,
            insecure_registries: vec![addr.to_string()],
            builtin: None,
        };
        let h = Harness::with_config(cfg)?;
        h.pod("p", "10.244.10.2")?;
        let mut spec = ContainerSpec::new("job", format!("{addr}/skiff/job:v1"));
        spec.env.insert("LIMIT".into(), "1000".into());
        let status = h.rt.create_container("p", spec).await?;
        assert_eq!(status.image_digest, digest(&job));
        h.rt.start_container("p", "job").await?;
        assert_eq!(
            h.wait("p", "job", Duration::from_secs(30)).await?,
            TerminationReason::Exited { code: 0 }
        );

        let err =
            h.rt.create_container(
                "p",
                ContainerSpec::new("evil", format!("{addr}/skiff/evil:v1")),
            )
            .await;
        assert!(
            matches!(
                err,
                Err(RuntimeError::Image(ImageError::DigestMismatch { .. }))
            ) || matches!(err, Err(RuntimeError::Image(ImageError::Registry { .. }))),
            "{err:?}"
        );
        let err =
            h.rt.create_container(
                "p",
                ContainerSpec::new("none", format!("{addr}/skiff/none:v1")),
            )
            .await;
        assert!(
            matches!(err, Err(RuntimeError::Image(ImageError::Registry { .. }))),
            "{err:?}"
        );
        h.shutdown().await;
        shutdown.cancel();
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_is_sent_and_required() -> Result<()> {
    bounded(async {
        let job = std::fs::read(examples().path("job"))?;
        // "skiff:s3cret"
        let mut registry = Registry {
            routes: HashMap::new(),
            auth: Some("Basic c2tpZmY6czNjcmV0".into()),
        };
        registry.publish("skiff/job", "v1", &job, &job);
        let shutdown = CancellationToken::new();
        let addr = serve(Arc::new(registry), shutdown.clone()).await?;
        let reference = format!("{addr}/skiff/job:v1");

        let mut cfg = RuntimeConfig::new(tempfile::tempdir()?.keep());
        cfg.oci = OciConfig {
            auth: OciAuth::Anonymous,
            insecure_registries: vec![addr.to_string()],
            builtin: None,
        };
        let anon = Harness::with_config(cfg.clone())?;
        assert!(anon.rt.pull_image(&reference).await.is_err());

        cfg.oci.auth = OciAuth::Basic {
            username: "skiff".into(),
            password: "s3cret".into(),
        };
        let authed = Harness::with_config(cfg)?;
        let pulled = authed.rt.pull_image(&reference).await?;
        assert_eq!(pulled.digest, digest(&job));
        anon.shutdown().await;
        authed.shutdown().await;
        shutdown.cancel();
        Ok(())
    })
    .await
}
