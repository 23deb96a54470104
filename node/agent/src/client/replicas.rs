//! [`Replicas`]: the control-plane replicas the agent knows and the one it uses, and the
//! failover service under the agent's [`kube::Client`].
//!
//! Every request goes to the *current* replica. When that replica cannot be reached (the
//! connection fails or breaks) or answers 503 (nothing was written: it has no leader, or is
//! cut off from its peers), the next replica in the list becomes current, and later requests
//! go there: the agent sticks to a replica until it fails, as k3s' agent load balancer
//! sticks to a server. A request whose connection could not even be opened, or that got a
//! 503, was not acted on, so it is sent again at once to the next replica (each replica at
//! most once per request); any other failure is returned to the caller, whose own retry
//! (a watcher's back-off, the next Lease renewal) goes to the new current replica. Watches
//! resume on the new replica from the resourceVersion they had: every replica serves the
//! same revisions.
//!
//! At most [`MAX_IN_FLIGHT`] requests wait for their answer at once (a watch counts until its
//! response starts). kube-rs speaks HTTP/1.1, one request per connection at a time, so a
//! burst of pod starts without a bound opened a TLS connection per concurrent request
//! (about 260 for 1,000 pods, each a handshake on both ends in the one `skiff up` process);
//! the kubelet bounds its API calls too (`kubeAPIQPS`/`kubeAPIBurst`).

use super::{ClientError, InProcessApi, replica_client};
use crate::credential::Credential;
use futures::future::BoxFuture;
use http::{Request, Response, StatusCode};
use kube::client::Body;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::sync::Semaphore;

/// Requests of the agent waiting for their answers at once.
pub const MAX_IN_FLIGHT: usize = 32;

/// The replicas and the current one (cheap to clone; clones share the state).
#[derive(Clone)]
pub struct Replicas(Arc<Shared>);

struct Shared {
    ca_pem: String,
    token: String,
    /// The replica in this process, if any (reached without TLS or a socket).
    in_process: Option<InProcessApi>,
    state: Mutex<State>,
    /// [`MAX_IN_FLIGHT`] permits.
    in_flight: Semaphore,
}

struct State {
    /// Never empty.
    servers: Vec<Server>,
    /// Index into `servers` of the replica requests go to.
    current: usize,
}

#[derive(Clone)]
struct Server {
    url: String,
    client: kube::Client,
}

impl std::fmt::Debug for Replicas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replicas")
            .field("urls", &self.urls())
            .field("current", &self.current())
            .finish()
    }
}

impl Replicas {
    /// The replicas `credential` lists; the first is current.
    pub fn new(
        credential: &Credential,
        in_process: Option<InProcessApi>,
    ) -> Result<Replicas, ClientError> {
        let shared = Shared {
            ca_pem: credential.ca_cert.clone(),
            token: credential.token.clone(),
            in_process,
            state: Mutex::new(State {
                servers: Vec::new(),
                current: 0,
            }),
            in_flight: Semaphore::new(MAX_IN_FLIGHT),
        };
        let replicas = Replicas(Arc::new(shared));
        if !replicas.set(&credential.servers)? {
            return Err(ClientError::NoServer);
        }
        Ok(replicas)
    }

    /// A kube-rs client whose requests follow the current replica.
    pub fn client(&self) -> kube::Client {
        kube::Client::new(Failover(self.clone()), "default")
    }

    /// Every replica URL, in order.
    pub fn urls(&self) -> Vec<String> {
        let state = skiff_sync::lock(&self.0.state);
        state.servers.iter().map(|s| s.url.clone()).collect()
    }

    /// The URL requests go to now.
    pub fn current(&self) -> String {
        self.pick().url
    }

    /// Replaces the list with `urls` (the current replica stays current if listed, else
    /// the first is); an empty list changes nothing. Returns whether the list is `urls` now.
    pub fn set(&self, urls: &[String]) -> Result<bool, ClientError> {
        if urls.is_empty() {
            return Ok(false);
        }
        let known: Vec<Server> = skiff_sync::lock(&self.0.state).servers.clone();
        let mut servers = Vec::with_capacity(urls.len());
        for url in urls {
            match known.iter().find(|s| &s.url == url) {
                Some(server) => servers.push(server.clone()),
                None => servers.push(Server {
                    url: url.clone(),
                    client: replica_client(
                        url,
                        &self.0.ca_pem,
                        &self.0.token,
                        self.0.in_process.as_ref(),
                    )?,
                }),
            }
        }
        let mut state = skiff_sync::lock(&self.0.state);
        let current = state.servers.get(state.current).map(|s| s.url.clone());
        state.current = current
            .and_then(|url| servers.iter().position(|s| s.url == url))
            .unwrap_or(0);
        state.servers = servers;
        Ok(true)
    }

    fn len(&self) -> usize {
        skiff_sync::lock(&self.0.state).servers.len()
    }

    fn pick(&self) -> Server {
        let state = skiff_sync::lock(&self.0.state);
        state.servers[state.current % state.servers.len()].clone()
    }

    /// `url` failed: if it is still current, the next replica becomes current.
    fn failed(&self, url: &str, why: &dyn std::fmt::Display) {
        let mut state = skiff_sync::lock(&self.0.state);
        let len = state.servers.len();
        if state.servers[state.current % len].url != url || len < 2 {
            return;
        }
        state.current = (state.current + 1) % len;
        let next = &state.servers[state.current].url;
        tracing::warn!(failed = url, now = %next, "the API server {url} failed ({why}); moving to {next}");
    }

    /// Sends `request` to the current replica, moving on as the module comment says.
    async fn send(&self, mut request: Request<Body>) -> Result<Response<Body>, kube::Error> {
        // Never closed, so a permit always comes; held until the answer (or its headers).
        let _permit = self.0.in_flight.acquire().await.ok();
        let mut left = self.len();
        loop {
            left -= 1;
            let server = self.pick();
            let spare = if left > 0 { copy(&request) } else { None };
            let outcome = server.client.send(request).await;
            let again = match &outcome {
                Ok(r) if r.status() == StatusCode::SERVICE_UNAVAILABLE => {
                    self.failed(&server.url, &"503 Service Unavailable");
                    true
                }
                Ok(_) => false,
                Err(e) => {
                    self.failed(&server.url, e);
                    not_sent(e)
                }
            };
            match spare {
                Some(spare) if again => request = spare,
                _ => return outcome,
            }
        }
    }
}

/// A copy of `request` to send again, when its body can be copied (all of the agent's
/// requests carry their whole body).
fn copy(request: &Request<Body>) -> Option<Request<Body>> {
    let body = request.body().try_clone()?;
    let mut copy = Request::new(body);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    *copy.extensions_mut() = request.extensions().clone();
    Some(copy)
}

/// Whether `e` says the request never reached the server: the connection (TCP or TLS)
/// could not be opened.
fn not_sent(e: &kube::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(client) = err.downcast_ref::<hyper_util::client::legacy::Error>() {
            return client.is_connect();
        }
        source = err.source();
    }
    false
}

/// The tower service under the agent's client: [`Replicas::send`].
struct Failover(Replicas);

impl tower_service::Service<Request<Body>> for Failover {
    type Response = Response<Body>;
    type Error = kube::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, kube::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), kube::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let replicas = self.0.clone();
        Box::pin(async move { replicas.send(request).await })
    }
}
