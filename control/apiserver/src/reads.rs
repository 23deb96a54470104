//! `get` and `list`: one object or a page of objects, filtered by label and field selectors,
//! paginated with `limit`/`continue`, as JSON or as a kubectl Table.

use base64::Engine;
use serde_json::{Value, json};
use skiff_api::resources::ResourceInfo;
use skiff_api::selector::{FieldSelector, LabelSelector};
use skiff_api::status::ApiError;

use super::ApiServer;
use super::objects;
use super::request::ResourceRequest;
use skiff_store::ListOptions;

/// Parsed selectors of a list or watch.
pub(crate) struct Filter {
    pub labels: Option<LabelSelector>,
    pub fields: Option<FieldSelector>,
}

impl Filter {
    pub(crate) fn from_request(request: &ResourceRequest) -> Result<Filter, ApiError> {
        let labels =
            match &request.query.label_selector {
                Some(s) => Some(LabelSelector::parse(s).map_err(|e| {
                    ApiError::bad_request(format!("unable to parse requirement: {e}"))
                })?),
                None => None,
            };
        let fields = match &request.query.field_selector {
            Some(s) => Some(
                FieldSelector::parse(s)
                    .map_err(|e| ApiError::bad_request(format!("invalid field selector: {e}")))?,
            ),
            None => None,
        };
        Ok(Filter { labels, fields })
    }

    pub(crate) fn matches(&self, obj: &Value) -> bool {
        self.labels.as_ref().is_none_or(|l| l.matches_object(obj))
            && self.fields.as_ref().is_none_or(|f| f.matches(obj))
    }
}

/// Continue tokens carry the list's revision and the last key returned.
#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    rv: u64,
    after: String,
}

fn encode_continue(rv: u64, after: String) -> String {
    let json = serde_json::to_vec(&ContinueToken { rv, after }).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_continue(token: &str) -> Result<ContinueToken, ApiError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| ApiError::bad_request("continue key is not valid"))?;
    serde_json::from_slice(&bytes).map_err(|_| ApiError::bad_request("continue key is not valid"))
}

impl ApiServer {
    pub async fn get(&self, request: &ResourceRequest) -> Result<Value, ApiError> {
        let name = request.name.as_deref().unwrap_or_default();
        let consistency = objects::consistency_for(request.query.resource_version.as_deref());
        self.objects
            .get(
                request.info,
                request.namespace.as_deref(),
                name,
                consistency,
            )
            .await?
            .ok_or_else(|| ApiError::not_found(&request.info.group_resource(), name))
    }

    /// Lists matching objects; returns the list object and the revision it was read at.
    pub async fn list(&self, request: &ResourceRequest) -> Result<(Vec<Value>, Value), ApiError> {
        let filter = Filter::from_request(request)?;
        let (revision, after) = match &request.query.continue_token {
            Some(token) => {
                let t = decode_continue(token)?;
                (Some(t.rv), Some(t.after))
            }
            None => (None, None),
        };
        // `metadata.name=X` narrows the read to one key.
        if let Some(name) = filter
            .fields
            .as_ref()
            .and_then(|f| f.single_value("metadata.name"))
            && (request.info.namespaced == request.namespace.is_some() || !request.info.namespaced)
        {
            let consistency = objects::consistency_for(request.query.resource_version.as_deref());
            let found = self
                .objects
                .get(
                    request.info,
                    request.namespace.as_deref(),
                    name,
                    consistency,
                )
                .await?;
            let revision = self.objects.replica.revision();
            let items: Vec<Value> = found.into_iter().filter(|o| filter.matches(o)).collect();
            return Ok((items, json!({ "resourceVersion": revision.to_string() })));
        }
        let limit = request.query.limit;
        let consistency = if revision.is_some() {
            skiff_replica::ops::Consistency::Serializable
        } else {
            objects::consistency_for(request.query.resource_version.as_deref())
        };
        let mut items = Vec::new();
        let mut at = revision;
        let mut start_after = after;
        // Read pages until `limit` matching items are found or the prefix ends; `next` is the
        // key of the last item returned when the limit cut the list short.
        let (read_at, next) = 'pages: loop {
            let options = ListOptions {
                revision: at,
                start_after: start_after.clone(),
                limit: Some(limit.unwrap_or(500).max(64)),
            };
            let page = self
                .objects
                .list(
                    request.info,
                    request.namespace.as_deref(),
                    &options,
                    consistency,
                )
                .await?;
            at = Some(page.revision);
            for obj in page.items {
                if !filter.matches(&obj) {
                    continue;
                }
                let (ns, name) = objects::namespace_and_name(&obj);
                items.push(obj);
                if limit.is_some_and(|l| items.len() >= l) {
                    break 'pages (page.revision, Some(request.info.key(ns.as_deref(), &name)));
                }
            }
            match page.next_after {
                Some(key) => start_after = Some(key),
                None => break (page.revision, None),
            }
        };
        let mut list_meta = json!({ "resourceVersion": read_at.to_string() });
        if let Some(after) = next {
            // A continue token is only worth giving if something really follows.
            let probe = ListOptions {
                revision: Some(read_at),
                start_after: Some(after.clone()),
                limit: Some(1),
            };
            let rest = self
                .objects
                .list(
                    request.info,
                    request.namespace.as_deref(),
                    &probe,
                    skiff_replica::ops::Consistency::Serializable,
                )
                .await?;
            if !rest.items.is_empty() {
                list_meta["continue"] = json!(encode_continue(read_at, after));
            }
        }
        Ok((items, list_meta))
    }
}

/// A `<Kind>List` object.
pub(crate) fn list_object(info: &ResourceInfo, items: Vec<Value>, list_meta: Value) -> Value {
    json!({
        "kind": info.list_kind(),
        "apiVersion": info.api_version(),
        "metadata": list_meta,
        "items": items,
    })
}
