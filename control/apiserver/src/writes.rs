//! `create`, `update` and `patch`: decode, check the schema, set server metadata, default,
//! validate, allocate (Service IPs and ports), then store with optimistic concurrency.

mod patching;

use serde_json::Value;
use skiff_api::patch;
use skiff_api::resources::ResourceInfo;
use skiff_api::status::ApiError;
use skiff_api::validate;

use super::body::BodySchema;
use super::namespace_index::NamespaceState;
use super::objects::{self, resource_version};
use super::request::ResourceRequest;
use super::{ApiServer, meta};
use skiff_replica::ops::Consistency;

/// Biggest request body accepted (kube-apiserver's limit is 3 MiB).
pub(crate) const MAX_BODY: usize = 3 * 1024 * 1024;
/// Unpinned writes (a PATCH, or a scale write without a resourceVersion) retried on a
/// conflict they did not ask for. kube-apiserver's GuaranteedUpdate retries without a bound;
/// this bound only stops a livelock from holding a request forever.
pub(crate) const UNPINNED_RETRIES: usize = 64;

/// The pause before attempt `attempt + 1` of an unpinned write that lost a race: none at
/// first, then a few jittered milliseconds so two busy writers stop colliding in step.
pub(crate) async fn pause_after_lost_race(attempt: usize) {
    if attempt == 0 {
        return;
    }
    let ceiling_ms = attempt.min(20) as u64;
    let pause = rand::random_range(0..=ceiling_ms);
    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
}

/// A successful write: the object and warnings for the `Warning` header.
pub struct Written {
    pub object: Value,
    pub created: bool,
    pub warnings: Vec<String>,
}

impl ApiServer {
    /// Schema check for `fieldValidation`: Strict refuses unknown fields, Warn reports them.
    fn check_fields(
        &self,
        request: &ResourceRequest,
        obj: &Value,
        schema: BodySchema,
    ) -> Result<Vec<String>, ApiError> {
        if schema == BodySchema::ByDecoder {
            return Ok(Vec::new());
        }
        let unknown = validate::check_schema(request.info, obj).map_err(|errors| {
            let text: Vec<String> = errors.iter().map(|e| e.describe()).collect();
            ApiError::bad_request(format!(
                "error decoding {}: {}",
                request.info.kind,
                text.join(", ")
            ))
        })?;
        match request.query.field_validation.as_deref() {
            Some("Strict") if !unknown.is_empty() => {
                let list: Vec<String> = unknown
                    .iter()
                    .map(|f| format!("unknown field \"{f}\""))
                    .collect();
                Err(ApiError::bad_request(format!(
                    "strict decoding error: {}",
                    list.join(", ")
                )))
            }
            Some("Ignore") => Ok(Vec::new()),
            _ => Ok(unknown
                .iter()
                .map(|f| format!("unknown field \"{f}\""))
                .collect()),
        }
    }

    fn validate_or_invalid(
        info: &ResourceInfo,
        obj: &Value,
        result: Result<(), Vec<skiff_api::status::FieldError>>,
    ) -> Result<(), ApiError> {
        result.map_err(|causes| {
            let (_, name) = objects::namespace_and_name(obj);
            ApiError::invalid(info.kind, info.group, &name, causes)
        })
    }

    pub async fn create(&self, request: &ResourceRequest, obj: Value) -> Result<Written, ApiError> {
        self.create_body(request, obj, BodySchema::Unchecked).await
    }

    /// `POST` of a body decoded as `schema` says.
    pub(crate) async fn create_body(
        &self,
        request: &ResourceRequest,
        mut obj: Value,
        schema: BodySchema,
    ) -> Result<Written, ApiError> {
        let info = request.info;
        meta::check_type_and_namespace(info, &mut obj, request.namespace.as_deref())?;
        let warnings = self.check_fields(request, &obj, schema)?;
        if let Some(ns) = obj["metadata"]["namespace"].as_str().map(str::to_owned) {
            self.check_namespace_open(&ns).await?;
        }
        meta::prepare_create(info, &mut obj)?;
        let (_, name) = objects::namespace_and_name(&obj);
        let name_errors = validate::validate_name(info, &name);
        if !name_errors.is_empty() {
            return Err(ApiError::invalid(info.kind, info.group, &name, name_errors));
        }
        if info.kind == "Pod" {
            self.admit_service_account(&mut obj).await?;
        }
        validate::apply_defaults(info, &mut obj);
        // A server-side apply that creates (verb Patch) has recorded its Apply entry already:
        // recording it again as an Update would make the next apply conflict with itself.
        if let (Some(manager), super::request::Verb::Create) =
            (&request.query.field_manager, &request.verb)
        {
            patch::record_update(info.kind, None, &mut obj, manager);
        }
        patch::stamp_managed_fields_time(&mut obj, &meta::now_rfc3339());
        if info.kind == "Job" {
            self.label_job(&mut obj);
        }
        if info.kind == "DaemonSet" {
            validate::stamp_template_generation(None, &mut obj);
        }
        Self::validate_or_invalid(info, &obj, validate::validate_create(info, &obj))?;
        self.admit_rbac_write(info, &obj).await?;
        if request.query.dry_run {
            return Ok(Written {
                object: obj,
                created: true,
                warnings,
            });
        }
        let object = if info.kind == "Service" {
            self.create_service(info, obj).await?
        } else {
            self.objects.create(info, obj, Vec::new()).await?
        };
        Ok(Written {
            object,
            created: true,
            warnings,
        })
    }

    /// `PUT`: replaces the object (or its status) if `resourceVersion` still matches.
    pub async fn update(&self, request: &ResourceRequest, obj: Value) -> Result<Written, ApiError> {
        self.update_body(request, obj, BodySchema::Unchecked).await
    }

    /// `PUT` of a body decoded as `schema` says.
    pub(crate) async fn update_body(
        &self,
        request: &ResourceRequest,
        mut obj: Value,
        schema: BodySchema,
    ) -> Result<Written, ApiError> {
        let info = request.info;
        let name = request.name.clone().unwrap_or_default();
        meta::check_type_and_namespace(info, &mut obj, request.namespace.as_deref())?;
        match obj["metadata"]["name"].as_str() {
            Some(n) if n == name => {}
            None | Some("") => obj["metadata"]["name"] = Value::String(name.clone()),
            Some(_) => {
                return Err(ApiError::bad_request(
                    "the name of the object does not match the name on the URL",
                ));
            }
        }
        let warnings = self.check_fields(request, &obj, schema)?;
        let current = self
            .objects
            .must_get(info, request.namespace.as_deref(), &name)
            .await?;
        let stored_rv = resource_version(&current).unwrap_or(0);
        if let Some(rv) = obj["metadata"]["resourceVersion"]
            .as_str()
            .filter(|s| !s.is_empty())
            && rv.parse::<u64>().ok() != Some(stored_rv)
        {
            return Err(ApiError::conflict(&info.group_resource(), &name));
        }
        let object = self.replace(request, &current, obj).await?;
        Ok(Written {
            object,
            created: false,
            warnings,
        })
    }

    /// Validates and stores `new` in place of `current` (whose revision must not have moved).
    async fn replace(
        &self,
        request: &ResourceRequest,
        current: &Value,
        mut new: Value,
    ) -> Result<Value, ApiError> {
        let info = request.info;
        let stored_rv = resource_version(current).unwrap_or(0);
        match request.subresource.as_deref() {
            Some("status") => new = meta::prepare_status_update(current, &new),
            _ => meta::prepare_update(info, current, &mut new),
        }
        if info.kind == "Service" {
            super::services::carry_allocations(current, &mut new);
        }
        validate::apply_defaults(info, &mut new);
        if info.kind == "DaemonSet" && request.subresource.is_none() {
            validate::stamp_template_generation(Some(current), &mut new);
        }
        if let (Some(manager), super::request::Verb::Update) =
            (&request.query.field_manager, &request.verb)
        {
            patch::record_update(info.kind, Some(current), &mut new, manager);
        }
        patch::stamp_managed_fields_time(&mut new, &meta::now_rfc3339());
        Self::validate_or_invalid(info, &new, validate::validate_update(info, current, &new))?;
        self.admit_rbac_write(info, &new).await?;
        objects::set_resource_version(&mut new, stored_rv);
        if new == *current || request.query.dry_run {
            return Ok(new);
        }
        let stored = if info.kind == "Service" {
            self.update_service(info, current, new, stored_rv).await?
        } else {
            self.objects
                .update(info, new, stored_rv, Vec::new())
                .await?
        };
        // Finalizers all gone on an object being deleted: it can go now.
        self.finish_deletion_if_done(info, &stored).await
    }

    /// Objects can't be created in a namespace that doesn't exist or is being deleted.
    pub async fn check_namespace_open(&self, namespace: &str) -> Result<(), ApiError> {
        let namespaces =
            skiff_api::resources::find("", "v1", "namespaces").expect("namespaces are served");
        let terminating = || {
            ApiError::forbidden(format!(
                "unable to create new content in namespace {namespace} because it is being terminated"
            ))
        };
        // The in-memory index first (as kube-apiserver's namespace admission reads its cache),
        // then this replica's copy; only an absent namespace is confirmed with a linearizable
        // read, so a namespace created a moment ago through another replica is not refused.
        match self.namespaces.state(&namespaces.key(None, namespace)) {
            NamespaceState::Open => return Ok(()),
            NamespaceState::Terminating => return Err(terminating()),
            NamespaceState::Unknown => {}
        }
        let local = self
            .objects
            .get(namespaces, None, namespace, Consistency::Serializable)
            .await?;
        let found = match local {
            Some(ns) => Some(ns),
            None => {
                self.objects
                    .get(namespaces, None, namespace, Consistency::Linearizable)
                    .await?
            }
        };
        match found {
            None => Err(ApiError::not_found("namespaces", namespace)),
            Some(ns) if ns["metadata"]["deletionTimestamp"].is_string() => Err(terminating()),
            Some(_) => Ok(()),
        }
    }

    /// Jobs select their pods by the job's uid, as Kubernetes' job strategy does.
    fn label_job(&self, obj: &mut Value) {
        let uid = obj["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let labels = validate::job_selector_labels(&uid);
        if obj["spec"]["manualSelector"].as_bool() == Some(true) {
            return;
        }
        for (k, v) in labels {
            obj["spec"]["selector"]["matchLabels"][&k] = Value::String(v.clone());
            obj["spec"]["template"]["metadata"]["labels"][&k] = Value::String(v);
        }
    }
}
