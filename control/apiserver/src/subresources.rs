//! Subresources besides `status`: `scale` (an autoscaling/v1 Scale view of `spec.replicas`),
//! `binding` (the scheduler's way to set `spec.nodeName`), `log` (`pod_log`, served by the
//! node agents through their tunnels), a namespace's `finalize`, and the pods' `eviction` (`eviction`) and refused streaming
//! subresources (`connect`; `portforward` is served before this, by `port_forward`).

use http::{Response, StatusCode};
use serde_json::{Value, json};
use skiff_api::patch::{self, ApplyOptions, PatchType};
use skiff_api::status::ApiError;

use super::objects::resource_version;
use super::request::{ResourceRequest, Verb};
use super::writes::UNPINNED_RETRIES;
use super::{ApiServer, Format, respond};
use skiff_respond::Body;

/// `status.selector` of a Scale: the selector as a label query string. A
/// ReplicationController's `spec.selector` is a plain label map; the others are
/// `LabelSelector`s (`matchLabels` and `matchExpressions`).
fn scale_selector(obj: &Value) -> String {
    use skiff_api::k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
    use skiff_api::selector::LabelSelector;
    let spec_selector = obj["spec"]["selector"].clone();
    let parsed = if obj["kind"] == "ReplicationController" {
        serde_json::from_value(spec_selector)
            .ok()
            .and_then(|labels| LabelSelector::from_labels(&labels).ok())
    } else {
        serde_json::from_value::<meta::LabelSelector>(spec_selector)
            .ok()
            .and_then(|s| LabelSelector::from_k8s(&s).ok())
    };
    parsed.map(|s| s.to_string()).unwrap_or_default()
}

fn scale_of(obj: &Value) -> Value {
    let selector = scale_selector(obj);
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": obj["metadata"]["name"],
            "namespace": obj["metadata"]["namespace"],
            "uid": obj["metadata"]["uid"],
            "resourceVersion": obj["metadata"]["resourceVersion"],
            "creationTimestamp": obj["metadata"]["creationTimestamp"],
        },
        "spec": { "replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1) },
        "status": { "replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector },
    })
}

impl ApiServer {
    pub async fn serve_subresource(
        &self,
        request: &ResourceRequest,
        sub: &str,
        parsed: Option<Value>,
        body: &[u8],
        content_type: &str,
    ) -> Result<Response<Body>, ApiError> {
        let info = request.info;
        let name = request.name.clone().unwrap_or_default();
        let ok = |v: Value| respond::object(StatusCode::OK, request, Format::Json, v);
        match (sub, &request.verb) {
            ("eviction", Verb::Create) => self.evict(request, parsed.as_ref()).await,
            ("token", Verb::Create) => {
                let issued = self.token_request(request, parsed).await?;
                Ok(respond::object(
                    StatusCode::CREATED,
                    request,
                    Format::Json,
                    issued,
                ))
            }
            ("exec" | "attach", Verb::Get | Verb::Create) => {
                self.refuse_stream(request, sub).await.map(ok)
            }
            ("log", Verb::Get) => self.pod_log(request).await,
            ("scale", Verb::Get) => Ok(ok(scale_of(
                &self
                    .objects
                    .must_get(info, request.namespace.as_deref(), &name)
                    .await?,
            ))),
            ("scale", Verb::Update | Verb::Patch) => self
                .update_scale(request, parsed, body, content_type)
                .await
                .map(ok),
            ("binding", Verb::Create) => self.bind(request, parsed.unwrap_or_default()).await,
            ("finalize", Verb::Update) => self
                .finalize_namespace(request, parsed.unwrap_or_default())
                .await
                .map(ok),
            _ => Err(ApiError::method_not_allowed(format!(
                "{:?} is not supported on {}/{sub}",
                request.verb, info.plural
            ))),
        }
    }

    /// `scale` written by update or patch. Unpinned (no resourceVersion): a write that lost a
    /// race with another (a controller's status) is made again on the new object, as
    /// kube-apiserver's GuaranteedUpdate does.
    async fn update_scale(
        &self,
        request: &ResourceRequest,
        parsed: Option<Value>,
        body: &[u8],
        content_type: &str,
    ) -> Result<Value, ApiError> {
        let mut attempt = 0;
        loop {
            super::writes::pause_after_lost_race(attempt).await;
            match self
                .write_scale(request, parsed.clone(), body, content_type)
                .await
            {
                Err(ScaleError::Raced) if attempt < UNPINNED_RETRIES => attempt += 1,
                Err(ScaleError::Raced) => {
                    let name = request.name.as_deref().unwrap_or_default();
                    return Err(ApiError::conflict(&request.info.group_resource(), name));
                }
                Err(ScaleError::Api(e)) => return Err(e),
                Ok(scale) => return Ok(scale),
            }
        }
    }

    /// `pods/binding`: sets the pod's node once; a bound or terminating pod is a conflict.
    async fn bind(
        &self,
        request: &ResourceRequest,
        binding: Value,
    ) -> Result<Response<Body>, ApiError> {
        let name = request.name.clone().unwrap_or_default();
        let node = binding["target"]["name"]
            .as_str()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                ApiError::invalid(
                    "Binding",
                    "",
                    &name,
                    vec![skiff_api::status::FieldError::required("target.name")],
                )
            })?;
        let pod = self
            .objects
            .must_get(request.info, request.namespace.as_deref(), &name)
            .await?;
        if let Some(bound) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!("pod {name} is already assigned to node \"{bound}\""),
            ));
        }
        if pod["metadata"]["deletionTimestamp"].is_string() {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!("pod {name} is being deleted, cannot be assigned to a host"),
            ));
        }
        let mut bound = pod.clone();
        bound["spec"]["nodeName"] = json!(node);
        let rv = resource_version(&pod).unwrap_or(0);
        self.objects
            .update(request.info, bound, rv, Vec::new())
            .await?;
        let status = json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201 });
        Ok(skiff_respond::json(StatusCode::CREATED, &status))
    }

    /// `namespaces/<name>/finalize`: replaces the Namespace's `spec.finalizers`.
    async fn finalize_namespace(
        &self,
        request: &ResourceRequest,
        wanted: Value,
    ) -> Result<Value, ApiError> {
        let name = request.name.as_deref().unwrap_or_default();
        let current = self.objects.must_get(request.info, None, name).await?;
        let mut updated = current.clone();
        updated["spec"]["finalizers"] = wanted["spec"]["finalizers"].clone();
        let rv = resource_version(&current).unwrap_or(0);
        self.objects
            .update(request.info, updated, rv, Vec::new())
            .await
    }
}

/// Why a scale write failed.
enum ScaleError {
    /// The object changed under an unpinned write: try again.
    Raced,
    Api(ApiError),
}

impl From<ApiError> for ScaleError {
    fn from(e: ApiError) -> Self {
        ScaleError::Api(e)
    }
}

impl ApiServer {
    /// One read-modify-write of `<name>/scale` (PUT or PATCH); returns the new Scale.
    async fn write_scale(
        &self,
        request: &ResourceRequest,
        parsed: Option<Value>,
        body: &[u8],
        content_type: &str,
    ) -> Result<Value, ScaleError> {
        let info = request.info;
        let name = request.name.clone().unwrap_or_default();
        let current = self
            .objects
            .must_get(info, request.namespace.as_deref(), &name)
            .await?;
        let scale = match request.verb {
            Verb::Patch => {
                let patch_type = PatchType::from_content_type(content_type)
                    .ok_or_else(|| ApiError::unsupported_media_type(content_type))?;
                patch::apply_patch(
                    "Scale",
                    Some(&scale_of(&current)),
                    body,
                    patch_type,
                    &ApplyOptions::default(),
                )
                .map_err(|e| e.to_api_error(&info.group_resource(), &name))?
            }
            _ => parsed.unwrap_or_default(),
        };
        if let Some(rv) = scale["metadata"]["resourceVersion"]
            .as_str()
            .filter(|s| !s.is_empty())
            && Some(rv) != current["metadata"]["resourceVersion"].as_str()
        {
            return Err(ApiError::conflict(&info.group_resource(), &name).into());
        }
        let replicas = scale["spec"]["replicas"].as_i64().ok_or_else(|| {
            ApiError::invalid(
                "Scale",
                "autoscaling",
                &name,
                vec![skiff_api::status::FieldError::required("spec.replicas")],
            )
        })?;
        let mut updated = current.clone();
        updated["spec"]["replicas"] = json!(replicas);
        let mut main = request.clone();
        main.subresource = None;
        // A PATCH carries the current object's resourceVersion through `scale_of`, so only a
        // PUT's own resourceVersion pins it; a PATCH that named one was checked just above
        // and is checked again on the re-read object when it is made again.
        let pinned = request.verb != Verb::Patch
            && scale["metadata"]["resourceVersion"]
                .as_str()
                .is_some_and(|s| !s.is_empty());
        match self.update(&main, updated).await {
            Ok(written) => Ok(scale_of(&written.object)),
            Err(e) if e.reason == "Conflict" && !pinned => Err(ScaleError::Raced),
            Err(e) => Err(e.into()),
        }
    }
}
