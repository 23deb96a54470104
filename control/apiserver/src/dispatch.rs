//! Request dispatch: one request from its path to the answer. Open endpoints, the dashboard
//! and the registry first; then the caller is identified, and discovery, reviews, metrics,
//! node proxy and resource requests are routed, a resource request's body decoded and its
//! verb authorised and run.

use http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use skiff_api::status::ApiError;
use skiff_respond::{Body, read_body};

use super::auth::{self, Identity};
use super::request::{self, ResourceRequest, Verb};
use super::writes::Written;
use super::{
    ApiServer, Format, body, deletes, node_proxy, rbac, request_metrics, resource_metrics, respond,
    reviews, sa_tokens, writes,
};

impl ApiServer {
    /// Serves one request whose path is not a peer or store path.
    pub async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        let started = std::time::Instant::now();
        let labels = request_metrics::RequestLabels::of(
            request.method(),
            request.uri().path(),
            request.uri().query().unwrap_or_default(),
        );
        let protobuf = skiff_api::protobuf::accept_prefers_protobuf(respond::accept(&request));
        let response = match self.handle_inner(request).await {
            Ok(response) => response,
            Err(e) => respond::status(&e, protobuf),
        };
        self.metrics
            .requests
            .record(labels, response.status(), started.elapsed());
        response
    }

    async fn handle_inner(&self, request: Request<Incoming>) -> Result<Response<Body>, ApiError> {
        let path = request.uri().path().to_owned();
        let query = request.uri().query().unwrap_or_default().to_owned();
        if let Some(response) = self.open_endpoint(&path) {
            return Ok(response);
        }
        // The dashboard's files are public; the page calls this API with the user's token.
        if let Some(response) = skiff_dashboard::serve(request.method(), &path, request.headers()) {
            return Ok(response.map(skiff_respond::full));
        }
        if path == "/v2" || path.starts_with("/v2/") {
            return Ok(self.serve_registry(request).await);
        }
        let identity = self.identify(request.headers()).await?;
        if let Some(response) = self.discovery_endpoint(&path, &query, request.headers()) {
            return Ok(response);
        }
        if let Some(review) = reviews::Review::of(request.method(), &path) {
            return self.serve_review(&identity, review, request).await;
        }
        if let Some(rest) = path.strip_prefix(resource_metrics::PREFIX) {
            return self
                .resource_metrics(&identity, request.method(), rest, &query)
                .await;
        }
        if let Some((node, tail)) = node_proxy::split(&path) {
            return self
                .node_proxy(&identity, request.method(), node, tail)
                .await;
        }
        let method = request.method().clone();
        let Some(resource) = request::parse(&method, &path, &query)? else {
            return Err(ApiError::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ));
        };
        if resource.subresource.as_deref() == Some("portforward") {
            return self.port_forward(&identity, &resource, request).await;
        }
        let format = respond::negotiate(&request, &resource)?;
        let http2 = request.version() == http::Version::HTTP_2;
        let (content_type, body) = read_write_body(request).await?;
        let serving = self.serve_resource(&identity, resource, format, &body, &content_type, http2);
        rbac::REQUESTER.scope(identity.clone(), serving).await
    }

    async fn serve_resource(
        &self,
        identity: &Identity,
        resource: ResourceRequest,
        format: Format,
        body: &[u8],
        content_type: &str,
        http2: bool,
    ) -> Result<Response<Body>, ApiError> {
        let streaming = matches!(
            resource.subresource.as_deref(),
            Some("exec" | "attach" | "portforward")
        );
        let parsed_body = match resource.verb {
            // kubectl's SPDY fallback POSTs these with an empty body.
            Verb::Create if streaming => None,
            Verb::Create | Verb::Update => Some(body::decode_body(body, content_type)?),
            Verb::Delete | Verb::DeleteCollection if !body.is_empty() => {
                body::decode_delete_options(body, content_type)?
            }
            _ => None,
        };
        if !matches!(identity, Identity::Admin) {
            self.authorize(identity, &resource, parsed_body.as_ref())
                .await?;
        }
        if resource.info.group == skiff_api::events::GROUP {
            return self
                .serve_events_v1(&resource, format, parsed_body, body, content_type)
                .await;
        }
        if let Some(sub) = resource.subresource.clone()
            && sub != "status"
        {
            return self
                .serve_subresource(&resource, &sub, parsed_body, body, content_type)
                .await;
        }
        self.serve_verb(&resource, format, parsed_body, body, content_type, http2)
            .await
    }

    /// Who is calling: the bearer token's identity (a ServiceAccount JWT or a fixed/bootstrap
    /// token), then impersonation headers if that identity may use them. No token: 401.
    async fn identify(&self, headers: &http::HeaderMap) -> Result<Identity, ApiError> {
        let token = auth::bearer(headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()));
        let identity = match token {
            Some(token) if sa_tokens::looks_like_jwt(token) => self.authenticate_jwt(token).await?,
            Some(token) => {
                auth::authenticate(token, &self.fixed_tokens, &self.tokens, &self.objects).await?
            }
            None => None,
        };
        let Some(identity) = identity else {
            return Err(ApiError::unauthorized());
        };
        self.impersonate(identity, headers).await
    }

    /// One resource request's verb, once it is authorized (`parsed_body`: the decoded object of
    /// a create or update, or delete options).
    async fn serve_verb(
        &self,
        resource: &ResourceRequest,
        format: Format,
        parsed_body: Option<serde_json::Value>,
        body: &[u8],
        content_type: &str,
        http2: bool,
    ) -> Result<Response<Body>, ApiError> {
        match resource.verb {
            Verb::Get if matches!(format, Format::Protobuf) => self.get_protobuf(resource).await,
            Verb::List if matches!(format, Format::Protobuf) => self.list_protobuf(resource).await,
            Verb::Get => Ok(respond::object(
                StatusCode::OK,
                resource,
                format,
                self.get(resource).await?,
            )),
            Verb::List => {
                let (items, list_meta) = self.list(resource).await?;
                Ok(respond::list(resource, format, items, list_meta))
            }
            Verb::Watch => Ok(respond::stream(
                format,
                self.watch(resource, format, http2).await?,
            )),
            Verb::Create | Verb::Update | Verb::Patch => {
                let written = self
                    .create_update_or_patch(resource, parsed_body, body, content_type)
                    .await?;
                Ok(respond::written(resource, format, written))
            }
            Verb::Delete | Verb::DeleteCollection => {
                let options = deletes::DeleteOptions::from(resource, parsed_body.as_ref());
                let deleted = match resource.verb {
                    Verb::DeleteCollection => self.delete_collection(resource, &options).await?,
                    _ => self.delete(resource, &options).await?,
                };
                Ok(respond::object(
                    StatusCode::OK,
                    resource,
                    format.untabled(),
                    deleted,
                ))
            }
        }
    }

    /// A create, update or patch (by `resource.verb`): a create or update writes the decoded
    /// `parsed_body`, a patch applies the raw `body` as `content_type` says.
    async fn create_update_or_patch(
        &self,
        resource: &ResourceRequest,
        parsed_body: Option<serde_json::Value>,
        body: &[u8],
        content_type: &str,
    ) -> Result<Written, ApiError> {
        match resource.verb {
            Verb::Create => {
                let schema = body::BodySchema::of(content_type);
                self.create_body(resource, parsed_body.unwrap_or_default(), schema)
                    .await
            }
            Verb::Update => {
                let schema = body::BodySchema::of(content_type);
                self.update_body(resource, parsed_body.unwrap_or_default(), schema)
                    .await
            }
            _ => self.patch(resource, body, content_type).await,
        }
    }
}

/// The content type and body of a write (POST, PUT, PATCH, DELETE); other methods read none.
pub(crate) async fn read_write_body(
    request: Request<Incoming>,
) -> Result<(String, bytes::Bytes), ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    if !matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        return Ok((content_type, bytes::Bytes::new()));
    }
    let body = read_body(request.into_body(), writes::MAX_BODY)
        .await
        .map_err(|e| match e {
            skiff_respond::BodyError::TooLarge { limit } => ApiError::too_large(limit),
            other => ApiError::bad_request(other.to_string()),
        })?;
    Ok((content_type, body))
}
