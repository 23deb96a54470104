//! `POST pods/<name>/eviction`: a delete of the pod that honours its PodDisruptionBudget, as
//! kube-apiserver's `EvictionREST` does. The decisions are `skiff_api::eviction`'s; this file
//! reads the pod and its budgets, spends a disruption through the budget's status subresource
//! (with the budget's resourceVersion, retried on conflict), then deletes the pod with the
//! Eviction's `deleteOptions` (a graceful delete when the pod's node is Ready).

use http::{Response, StatusCode};
use serde_json::{Value, json};
use skiff_api::eviction;
use skiff_api::resources::{self, ResourceInfo};
use skiff_api::status::ApiError;

use super::deletes::DeleteOptions;
use super::request::{Query, ResourceRequest, Verb};
use super::{ApiServer, meta};
use skiff_replica::ops::Consistency;
use skiff_respond::Body;
use skiff_store::ListOptions;

/// kube-apiserver's `EvictionsRetry` takes 20 steps; conflicts on one budget rarely need more
/// than a few.
const CONFLICT_RETRIES: usize = 20;

/// The pause between two attempts after a conflict (kube-apiserver waits 500 ms).
const CONFLICT_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// How an attempt failed: before anything was spent (a conflict may be retried from the
/// start), or after a disruption was spent (never retried from the start).
enum Attempt {
    Retry(ApiError),
    Final(ApiError),
}

impl From<ApiError> for Attempt {
    fn from(e: ApiError) -> Self {
        Attempt::Retry(e)
    }
}

/// The caller pinned the delete to a resourceVersion: a conflict is its answer, not retried.
fn pinned_by_caller(eviction: &Eviction) -> bool {
    eviction.options.precondition_rv.is_some()
}

/// What an eviction asks: how to delete the pod.
struct Eviction {
    options: DeleteOptions,
    dry_run: bool,
}

/// Reads an `Eviction` body (policy/v1, or the policy/v1beta1 one older kubectls send).
fn parse_eviction(request: &ResourceRequest, body: Option<&Value>) -> Result<Eviction, ApiError> {
    let body = body.ok_or_else(|| ApiError::bad_request("an Eviction body is required"))?;
    let api_version = body["apiVersion"].as_str().unwrap_or("policy/v1");
    let kind = body["kind"].as_str().unwrap_or("Eviction");
    if !matches!(api_version, "policy/v1" | "policy/v1beta1") || kind != "Eviction" {
        return Err(ApiError::bad_request(format!(
            "not a Eviction object: {api_version}, Kind={kind}"
        )));
    }
    if body["metadata"]["name"].as_str() != request.name.as_deref() {
        return Err(ApiError::bad_request(
            "name in URL does not match name in Eviction object",
        ));
    }
    let delete_options = body.get("deleteOptions").filter(|o| o.is_object());
    let body_dry_run = delete_options
        .and_then(|o| o["dryRun"].as_array())
        .is_some_and(|d| d.iter().any(|v| v == "All"));
    Ok(Eviction {
        options: DeleteOptions::from(request, delete_options),
        dry_run: request.query.dry_run || body_dry_run,
    })
}

/// A request for `verb` on `info`'s object `name` in `namespace`, made by the server itself.
fn inner_request(
    verb: Verb,
    info: &'static ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    subresource: Option<&str>,
    dry_run: bool,
) -> ResourceRequest {
    ResourceRequest {
        verb,
        info,
        namespace: namespace.map(str::to_owned),
        name: Some(name.to_owned()),
        subresource: subresource.map(str::to_owned),
        query: Query {
            dry_run,
            ..Query::default()
        },
    }
}

impl ApiServer {
    pub(crate) async fn evict(
        &self,
        request: &ResourceRequest,
        body: Option<&Value>,
    ) -> Result<Response<Body>, ApiError> {
        let eviction = parse_eviction(request, body)?;
        let mut attempt = 0;
        loop {
            match self.evict_once(request, &eviction).await {
                Err(Attempt::Retry(e))
                    if e.code == 409
                        && !pinned_by_caller(&eviction)
                        && attempt < CONFLICT_RETRIES =>
                {
                    attempt += 1;
                    tokio::time::sleep(CONFLICT_PAUSE).await;
                }
                Err(Attempt::Retry(e) | Attempt::Final(e)) => return Err(e),
                Ok(()) => break,
            }
        }
        let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201});
        Ok(skiff_respond::json(StatusCode::CREATED, &status))
    }

    /// One attempt: read the pod, check and spend its budget, delete it.
    async fn evict_once(
        &self,
        request: &ResourceRequest,
        eviction: &Eviction,
    ) -> Result<(), Attempt> {
        let namespace = request.namespace.as_deref();
        let name = request.name.as_deref().unwrap_or_default();
        let pod = self.objects.must_get(request.info, namespace, name).await?;
        // A live pod's delete is pinned to the version read, so a pod that turned ready since
        // (and counts for its budget again) is not deleted on a stale decision.
        let pin = eviction::pins_resource_version(&pod) && !pinned_by_caller(eviction);
        let pinned = DeleteOptions {
            precondition_rv: if pin {
                pod["metadata"]["resourceVersion"]
                    .as_str()
                    .map(str::to_owned)
            } else {
                eviction.options.precondition_rv.clone()
            },
            ..eviction.options.clone()
        };
        if eviction::can_ignore_budget(&pod) {
            return Ok(self
                .delete_evicted(request, &pinned, eviction.dry_run)
                .await?);
        }
        let budgets = self.budgets_in(namespace).await?;
        let budget = match eviction::covering_budgets(&pod, &budgets).as_slice() {
            [] => {
                let deleted = self.delete_evicted(request, &eviction.options, eviction.dry_run);
                return Ok(deleted.await?);
            }
            [one] => (*one).clone(),
            _ => return Err(Attempt::Final(eviction::several_budgets())),
        };
        if eviction::unready_pod_skips_budget(&pod, &budget) {
            let result = self
                .delete_evicted(request, &pinned, eviction.dry_run)
                .await;
            return match result {
                Err(e) if e.code == 409 && pin => {
                    Err(Attempt::Final(eviction::too_many_requests(format!(
                        "The disruption budget {} is still being processed by the server.",
                        budget["metadata"]["name"].as_str().unwrap_or_default()
                    ))))
                }
                other => Ok(other?),
            };
        }
        self.spend_budget(&budget, name, eviction.dry_run).await?;
        self.delete_spent(request, eviction).await
    }

    /// The delete after a disruption was spent: a conflict now must not spend another, so only
    /// the delete is retried (kube-apiserver's store retries its delete the same way).
    async fn delete_spent(
        &self,
        request: &ResourceRequest,
        eviction: &Eviction,
    ) -> Result<(), Attempt> {
        let mut attempt = 0;
        loop {
            let deleted = self.delete_evicted(request, &eviction.options, eviction.dry_run);
            match deleted.await {
                Err(e)
                    if e.code == 409
                        && !pinned_by_caller(eviction)
                        && attempt < CONFLICT_RETRIES =>
                {
                    attempt += 1;
                }
                Err(e) => return Err(Attempt::Final(e)),
                Ok(()) => return Ok(()),
            }
        }
    }

    /// The PodDisruptionBudgets of `namespace`.
    async fn budgets_in(&self, namespace: Option<&str>) -> Result<Vec<Value>, ApiError> {
        let info = resources::find("policy", "v1", "poddisruptionbudgets")
            .expect("poddisruptionbudgets are served");
        let page = self
            .objects
            .list(
                info,
                namespace,
                &ListOptions::default(),
                Consistency::Linearizable,
            )
            .await?;
        Ok(page.items)
    }

    /// Spends one disruption of `budget` for `pod_name`: a status update carrying the
    /// resourceVersion the budget was read at, so two evictions cannot spend the same one.
    async fn spend_budget(
        &self,
        budget: &Value,
        pod_name: &str,
        dry_run: bool,
    ) -> Result<(), ApiError> {
        let spent = eviction::spend_disruption(budget, pod_name, &meta::now_rfc3339())?;
        if dry_run {
            return Ok(());
        }
        let info = resources::find("policy", "v1", "poddisruptionbudgets")
            .expect("poddisruptionbudgets are served");
        let name = budget["metadata"]["name"].as_str().unwrap_or_default();
        let namespace = budget["metadata"]["namespace"].as_str();
        let status = inner_request(Verb::Update, info, namespace, name, Some("status"), false);
        self.update(&status, spent).await?;
        Ok(())
    }

    /// Deletes the evicted pod as `DELETE` would, with the Eviction's options.
    async fn delete_evicted(
        &self,
        request: &ResourceRequest,
        options: &DeleteOptions,
        dry_run: bool,
    ) -> Result<(), ApiError> {
        let name = request.name.as_deref().unwrap_or_default();
        let namespace = request.namespace.as_deref();
        let delete = inner_request(Verb::Delete, request.info, namespace, name, None, dry_run);
        self.delete(&delete, options).await?;
        Ok(())
    }
}
