//! The built-in OCI registry (`skiff-registry`) on the API's port: `/v2/...` is authenticated
//! with the API's tokens (as a bearer token, or as the password of HTTP basic auth, and through
//! `/v2/token`, the token handshake docker-style clients make), authorised, and served through
//! [`ReplicaStorage`]: metadata in the Raft store, blob files in `<data-dir>/registry-blobs`
//! copied between replicas by `registry_peers`.
//!
//! Authorisation: nodes may pull any repository and nothing else (the node rule, never passed
//! on to RBAC); everyone else is decided by RBAC on the pseudo-resource
//! `repositories.registry.skiff.io` named by the repository, with the verbs `pull`, `push` and
//! `delete` (the admin, in `system:masters`, may do everything).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use futures::TryStreamExt as _;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use skiff_api::rbac::{Attributes, ResourceAttributes, Target};
use skiff_registry::files::BlobFiles;
use skiff_registry::{
    Action, BodyError, BodyStream, Freshness, RegistryError, RegistryRequest, StorageError, Stored,
};
use skiff_replica::Replica;
use skiff_replica::ops::Consistency;
use skiff_respond::{Body, read_body};
use skiff_store::ListOptions;
use skiff_store::types::{Op, Request as StoreRequest, Response as StoreResponse, Txn};

use super::ApiServer;
use super::auth::{self, Identity};

/// The RBAC group and resource registry requests are authorised as.
pub(crate) const GROUP: &str = "registry.skiff.io";
pub(crate) const RESOURCE: &str = "repositories";

/// How often the leader collects unreferenced blobs, and how old one must be to go (also how
/// old a blob file no metadata names must be before a replica removes it).
const GC_INTERVAL: Duration = Duration::from_secs(10 * 60);
const GC_GRACE: Duration = Duration::from_secs(60 * 60);

/// The collection's interval and grace: [`GC_INTERVAL`] and [`GC_GRACE`], or (for tests and
/// small devices) `SKIFF_REGISTRY_GC_SECONDS` and `SKIFF_REGISTRY_GC_GRACE_SECONDS`.
fn gc_timing() -> (Duration, Duration) {
    let seconds = |name: &str, default: Duration| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|s| *s > 0)
            .map_or(default, Duration::from_secs)
    };
    (
        seconds("SKIFF_REGISTRY_GC_SECONDS", GC_INTERVAL),
        seconds("SKIFF_REGISTRY_GC_GRACE_SECONDS", GC_GRACE),
    )
}

/// How blobs are cut into store values: skiff-registry's default, or for benchmarks
/// `SKIFF_REGISTRY_CHUNK_KIB` and `SKIFF_REGISTRY_IN_FLIGHT`.
pub(crate) fn layout() -> skiff_registry::blobs::Layout {
    let setting = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
    };
    let mut layout = skiff_registry::blobs::Layout::default();
    if let Some(kib) = setting("SKIFF_REGISTRY_CHUNK_KIB") {
        layout.chunk_bytes = kib.clamp(4, 8 * 1024) * 1024;
    }
    if let Some(n) = setting("SKIFF_REGISTRY_IN_FLIGHT") {
        layout.in_flight = n.clamp(1, 64);
    }
    layout
}

/// How often each replica fetches the blob files it lacks and drops those nothing names.
const CONVERGE_INTERVAL: Duration = Duration::from_secs(10);

/// The registry's storage: metadata in the replica's store (writes through Raft), blob files
/// sent to and fetched from the other replicas (`registry_peers`).
#[derive(Clone)]
pub(crate) struct ReplicaStorage {
    pub(crate) replica: Arc<Replica>,
    /// Own the blob sends still running after a push's quorum answered.
    pub(crate) tasks: tokio_util::task::TaskTracker,
    pub(crate) shutdown: tokio_util::sync::CancellationToken,
}

pub(crate) type BuiltinRegistry = skiff_registry::Registry<ReplicaStorage>;

impl skiff_registry::Storage for ReplicaStorage {
    async fn get(&self, key: &str, freshness: Freshness) -> Result<Option<Stored>, StorageError> {
        let consistency = match freshness {
            Freshness::Latest => Consistency::Linearizable,
            Freshness::Local => Consistency::Serializable,
        };
        let (kv, _) = self
            .replica
            .get(key, None, consistency)
            .await
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        Ok(kv.map(|kv| Stored {
            key: kv.key,
            value: kv.value,
            revision: kv.mod_revision,
        }))
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Stored>, StorageError> {
        let options = ListOptions {
            revision: None,
            start_after: start_after.map(str::to_owned),
            limit: Some(limit),
        };
        let page = self
            .replica
            .list(prefix, &options, Consistency::Linearizable)
            .await
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        Ok(page
            .kvs
            .into_iter()
            .map(|kv| Stored {
                key: kv.key,
                value: kv.value,
                revision: kv.mod_revision,
            })
            .collect())
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
        self.commit(Op::put(key, value)).await.map(|_| ())
    }

    async fn delete(&self, key: &str, if_revision: Option<u64>) -> Result<bool, StorageError> {
        let op = match if_revision {
            Some(revision) => Op::delete_at(key, revision),
            None => Op::delete(key),
        };
        self.commit(op).await
    }

    async fn replicate(
        &self,
        feed: skiff_registry::feed::Feed,
    ) -> Result<Vec<String>, StorageError> {
        self.replicate_to_quorum(feed).await
    }

    async fn fetch(
        &self,
        digest: &skiff_registry::Digest,
        holders: &[String],
    ) -> Result<Option<bytes::Bytes>, StorageError> {
        self.fetch_from_peers(digest, holders).await
    }
}

impl ReplicaStorage {
    /// Commits one op; `Ok(false)` when its precondition failed.
    async fn commit(&self, op: Op) -> Result<bool, StorageError> {
        let request = StoreRequest::Txn(Txn { ops: vec![op] });
        match self.replica.write(request).await {
            Ok(StoreResponse::Committed { .. }) => Ok(true),
            Ok(StoreResponse::Failed(_)) => Ok(false),
            Ok(other) => Err(StorageError::Unavailable(format!(
                "unexpected store answer {other:?}"
            ))),
            Err(e) => Err(StorageError::Unavailable(e.to_string())),
        }
    }
}

/// Opens this replica's blob files (`<data-dir>/registry-blobs`) and builds the registry.
/// If the directory cannot be opened, new blobs go into the store as chunks (as before blob
/// files), which is slower but loses nothing; the error is logged.
pub(crate) fn build(storage: ReplicaStorage) -> BuiltinRegistry {
    let dir = storage.replica.data_dir().join("registry-blobs");
    let registry = skiff_registry::Registry::new(storage).with_layout(layout());
    match BlobFiles::open(&dir) {
        Ok(files) => registry.with_files(Arc::new(files)),
        Err(e) => {
            tracing::error!(error = %e, "registry blob files unavailable; storing blobs in the store");
            registry
        }
    }
}

/// Starts the leader's garbage collection and every replica's convergence of blob files,
/// owned by the storage's tasks.
pub(crate) fn start_background(storage: ReplicaStorage, files: Option<Arc<BlobFiles>>) {
    let (tasks, shutdown) = (storage.tasks.clone(), storage.shutdown.clone());
    let (interval, grace) = gc_timing();
    if let Some(files) = files.clone() {
        let storage = storage.clone();
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            skiff_registry::file_blobs::run_converge(
                &storage,
                files,
                CONVERGE_INTERVAL,
                grace,
                shutdown,
            )
            .await;
        });
    }
    tasks.spawn(async move {
        let replica = storage.replica.clone();
        skiff_registry::gc::run(
            &storage,
            files.as_deref(),
            || replica.is_leader(),
            interval,
            grace,
            shutdown,
        )
        .await;
    });
}

/// The token a registry client sent: a bearer token, or basic auth's password.
fn registry_token(headers: &HeaderMap) -> Option<Vec<u8>> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    if let Some(token) = auth::bearer(Some(value)) {
        return Some(token.to_vec());
    }
    let encoded = value.strip_prefix(b"Basic ")?.trim_ascii();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let colon = decoded.iter().position(|b| *b == b':')?;
    Some(decoded[colon + 1..].to_vec()).filter(|t| !t.is_empty())
}

impl ApiServer {
    /// Serves a request under `/v2`, answering in the OCI error envelope.
    pub(crate) async fn serve_registry(&self, request: Request<Incoming>) -> Response<Body> {
        let head = request.method() == Method::HEAD;
        match self.serve_registry_inner(request).await {
            Ok(response) => response,
            Err(RegistryError::Unauthorized) => self.registry_challenge(head),
            Err(e) => e.response(head),
        }
    }

    async fn serve_registry_inner(
        &self,
        request: Request<Incoming>,
    ) -> Result<Response<Body>, RegistryError> {
        let path = request.uri().path().to_owned();
        let identity = self.registry_identity(request.headers()).await?;
        if path == "/v2/token" {
            return Ok(token_answer(request.headers()));
        }
        let route = skiff_registry::route::parse(&path)?
            .ok_or_else(|| RegistryError::NameUnknown(path.clone()))?;
        if let Some((name, action)) = route.scope(request.method()) {
            self.authorize_registry(&identity, name, action).await?;
        }
        let method = request.method().clone();
        let query = request.uri().query().unwrap_or_default().to_owned();
        let (parts, body) = request.into_parts();
        let mut request = RegistryRequest {
            method,
            route,
            query,
            headers: parts.headers,
            body: bytes::Bytes::new(),
            stream: None,
        };
        if request.wants_stream() {
            // A blob's last request: written and sent to the peers while it arrives.
            let pieces = http_body_util::BodyDataStream::new(body).map_err(BodyError::from);
            request.stream = Some(BodyStream::new(pieces));
        } else if matches!(request.method, Method::POST | Method::PUT | Method::PATCH) {
            request.body = read_body(body, skiff_registry::MAX_BLOB_BYTES)
                .await
                .map_err(|e| RegistryError::SizeInvalid(e.to_string()))?;
        }
        Ok(self
            .registry
            .serve(request, skiff_registry::gc::unix_now())
            .await)
    }

    async fn registry_identity(&self, headers: &HeaderMap) -> Result<Identity, RegistryError> {
        let Some(token) = registry_token(headers) else {
            return Err(RegistryError::Unauthorized);
        };
        let found = if super::sa_tokens::looks_like_jwt(&token) {
            self.authenticate_jwt(&token).await
        } else {
            auth::authenticate(&token, &self.fixed_tokens, &self.tokens, &self.objects).await
        };
        match found {
            Ok(Some(identity)) => Ok(identity),
            Ok(None) => Err(RegistryError::Unauthorized),
            Err(e) if e.code == 401 => Err(RegistryError::Unauthorized),
            Err(e) => Err(RegistryError::Unavailable(e.message)),
        }
    }

    async fn authorize_registry(
        &self,
        identity: &Identity,
        name: &str,
        action: Action,
    ) -> Result<(), RegistryError> {
        let denied = |who: &str| {
            RegistryError::Denied(format!(
                "{who} may not {} repository {name:?}",
                action.verb()
            ))
        };
        match identity {
            Identity::Admin => return Ok(()),
            Identity::Node(node) if action == Action::Pull => {
                tracing::debug!(%node, %name, "node pulls from the registry");
                return Ok(());
            }
            Identity::Node(node) => return Err(denied(&format!("node {node:?}"))),
            _ => {}
        }
        let attributes = Attributes {
            user: identity.user_info(),
            verb: action.verb().to_owned(),
            target: Target::Resource(ResourceAttributes {
                namespace: repository_namespace(name).to_owned(),
                api_group: GROUP.to_owned(),
                resource: RESOURCE.to_owned(),
                subresource: String::new(),
                name: name.to_owned(),
            }),
        };
        let decision = self
            .rbac_decision(&attributes)
            .await
            .map_err(|e| RegistryError::Unavailable(e.message))?;
        if decision.allowed {
            Ok(())
        } else {
            Err(denied(&format!("user {:?}", attributes.user.name)))
        }
    }

    /// 401 with the challenge standard clients follow: fetch a token from `/v2/token` with the
    /// credentials they hold (an API token as bearer, or as basic auth's password).
    fn registry_challenge(&self, head: bool) -> Response<Body> {
        let mut response = RegistryError::Unauthorized.response(head);
        let challenge = format!(
            "Bearer realm=\"{}/v2/token\",service=\"skiff\"",
            self.advertise
        );
        if let Ok(value) = header::HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response.headers_mut().insert(
            skiff_registry::API_VERSION.0,
            header::HeaderValue::from_static(skiff_registry::API_VERSION.1),
        );
        response
    }
}

/// The namespace a repository belongs to for RBAC: its first path component when it has more
/// than one (`dev/app` is in `dev`, as OpenShift's registry puts `<project>/<stream>` in the
/// project), so a RoleBinding in `dev` grants `dev/*`; a one-component repository (`app`) is
/// cluster-wide, granted only by ClusterRoleBindings.
fn repository_namespace(name: &str) -> &str {
    match name.split_once('/') {
        Some((first, _)) => first,
        None => "",
    }
}

/// The token handshake's answer: the caller's own (already authenticated) API token.
fn token_answer(headers: &HeaderMap) -> Response<Body> {
    let token = registry_token(headers)
        .map(|t| String::from_utf8_lossy(&t).into_owned())
        .unwrap_or_default();
    skiff_respond::json(
        StatusCode::OK,
        &serde_json::json!({"token": token, "access_token": token, "expires_in": 3600}),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_repository_is_in_the_namespace_of_its_first_component() {
        for (name, namespace) in [("dev/app", "dev"), ("dev/team/app", "dev"), ("app", "")] {
            assert_eq!(super::repository_namespace(name), namespace, "{name}");
        }
    }
}
