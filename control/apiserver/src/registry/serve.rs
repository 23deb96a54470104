//! Serving `/v2`: the caller authenticated with the API's tokens (bearer, basic auth's
//! password, or the `/v2/token` handshake), authorised (the node rule, then RBAC on
//! `repositories.registry.skiff.io`), and answered by the registry or in the OCI error
//! envelope.

use base64::Engine as _;
use futures::TryStreamExt as _;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use skiff_api::rbac::{Attributes, ResourceAttributes, Target};
use skiff_registry::{Action, BodyError, BodyStream, RegistryError, RegistryRequest};
use skiff_respond::{Body, read_body};

use super::{GROUP, RESOURCE};
use crate::ApiServer;
use crate::auth::{self, Identity};

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
        let found = if crate::sa_tokens::looks_like_jwt(&token) {
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
