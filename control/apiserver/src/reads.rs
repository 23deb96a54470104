//! `get` and `list`: one object or a page of objects, filtered by label and field selectors,
//! paginated with `limit`/`continue`, as JSON or as a kubectl Table.

use serde_json::{Value, json};
use skiff_api::resources::ResourceInfo;
use skiff_api::selector::{FieldSelector, LabelSelector};
use skiff_api::status::ApiError;

use super::ApiServer;
use super::list_options::{self, ListStart};
use super::objects;
use super::request::ResourceRequest;
use skiff_replica::ops::Consistency;
use skiff_store::ListOptions;
use skiff_store::types::KeyValue;

/// What a list makes of a stored object: the item to list, or `None` to leave it out.
type Keep<'a, T> = dyn Fn(KeyValue) -> Result<Option<T>, ApiError> + Sync + 'a;

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
        let keep = |kv: KeyValue| {
            let obj = objects::decode(&kv)?;
            Ok(filter.matches(&obj).then_some(obj))
        };
        self.list_with(request, &filter, &keep).await
    }

    /// Lists the objects as stored (not parsed), when no selector needs them parsed: `None`
    /// when one does.
    pub(crate) async fn list_stored(
        &self,
        request: &ResourceRequest,
    ) -> Result<Option<(Vec<KeyValue>, Value)>, ApiError> {
        let filter = Filter::from_request(request)?;
        if filter.labels.is_some() || filter.fields.is_some() {
            return Ok(None);
        }
        let keep = |kv: KeyValue| Ok(Some(kv));
        self.list_with(request, &filter, &keep).await.map(Some)
    }

    /// The list of what `keep` makes of each stored object it keeps, and the list metadata.
    async fn list_with<T: Send>(
        &self,
        request: &ResourceRequest,
        filter: &Filter,
        keep: &Keep<'_, T>,
    ) -> Result<(Vec<T>, Value), ApiError> {
        let prefix = request.info.namespace_prefix(request.namespace.as_deref());
        let plan = list_options::plan(&request.query, &prefix)?;
        // `metadata.name=X` narrows the read to one key.
        if let Some(name) = filter
            .fields
            .as_ref()
            .and_then(|f| f.single_value("metadata.name"))
            && plan.after.is_none()
            && (request.info.namespaced == request.namespace.is_some() || !request.info.namespaced)
        {
            return self.list_one(request, name, keep).await;
        }
        let local = self.objects.replica.revision();
        let (at, consistency) = match plan.start {
            ListStart::Newest => (None, Consistency::Linearizable),
            // A revision this replica has not applied yet is asked of the leader's read index.
            ListStart::NotOlderThan(min) if min > local => (None, Consistency::Linearizable),
            ListStart::NotOlderThan(_) => (None, Consistency::Serializable),
            ListStart::Exact(rv) if rv > local => (Some(rv), Consistency::Linearizable),
            ListStart::Exact(rv) => (Some(rv), Consistency::Serializable),
        };
        let continued = plan.after.is_some();
        let (items, read_at, next) = match self
            .read_pages(request, keep, at, plan.after, consistency)
            .await
        {
            Err(e) if continued && e.code == 410 => return Err(list_options::continue_expired()),
            other => other?,
        };
        if let ListStart::NotOlderThan(min) = plan.start
            && read_at < min
        {
            return Err(ApiError::timeout(format!(
                "Too large resource version: {min}, current resource version: {read_at}"
            )));
        }
        let mut list_meta = json!({ "resourceVersion": read_at.to_string() });
        if let Some(after) = next
            && self.anything_after(request, read_at, &after).await?
        {
            list_meta["continue"] = json!(list_options::encode_continue(read_at, after));
        }
        Ok((items, list_meta))
    }

    /// The stored record of object `name` of the request's resource and namespace, read with
    /// the consistency its `resourceVersion` asks for.
    pub(crate) async fn stored_named(
        &self,
        request: &ResourceRequest,
        name: &str,
    ) -> Result<Option<KeyValue>, ApiError> {
        let consistency = objects::consistency_for(request.query.resource_version.as_deref());
        let namespace = request.namespace.as_deref();
        (self.objects)
            .get_stored(request.info, namespace, name, consistency)
            .await
    }

    /// The list of the one object a `metadata.name=X` field selector names.
    async fn list_one<T: Send>(
        &self,
        request: &ResourceRequest,
        name: &str,
        keep: &Keep<'_, T>,
    ) -> Result<(Vec<T>, Value), ApiError> {
        let found = self.stored_named(request, name).await?;
        let revision = self.objects.replica.revision();
        let mut items = Vec::new();
        if let Some(item) = found.map(keep).transpose()?.flatten() {
            items.push(item);
        }
        Ok((items, json!({ "resourceVersion": revision.to_string() })))
    }

    /// Reads store pages from `start_after` at revision `at` until `limit` kept items are
    /// found or the prefix ends. Returns the items, the revision read at and, when the limit
    /// cut the list short, the key of the last item returned.
    async fn read_pages<T: Send>(
        &self,
        request: &ResourceRequest,
        keep: &Keep<'_, T>,
        mut at: Option<u64>,
        mut start_after: Option<String>,
        consistency: Consistency,
    ) -> Result<(Vec<T>, u64, Option<String>), ApiError> {
        let limit = request.query.limit;
        let mut items = Vec::new();
        loop {
            let options = ListOptions {
                revision: at,
                start_after: start_after.clone(),
                limit: Some(limit.unwrap_or(500).max(64)),
            };
            let page = self
                .objects
                .list_stored(
                    request.info,
                    request.namespace.as_deref(),
                    &options,
                    consistency,
                )
                .await?;
            at = Some(page.revision);
            for kv in page.items {
                let key = limit.is_some().then(|| kv.key.clone());
                let Some(item) = keep(kv)? else {
                    continue;
                };
                items.push(item);
                if limit.is_some_and(|l| items.len() >= l) {
                    return Ok((items, page.revision, key));
                }
            }
            match page.next_after {
                Some(key) => start_after = Some(key),
                None => return Ok((items, page.revision, None)),
            }
        }
    }

    /// Whether any key follows `after` at revision `at`: a continue token is only worth giving
    /// if something really follows.
    async fn anything_after(
        &self,
        request: &ResourceRequest,
        at: u64,
        after: &str,
    ) -> Result<bool, ApiError> {
        let probe = ListOptions {
            revision: Some(at),
            start_after: Some(after.to_owned()),
            limit: Some(1),
        };
        let rest = self
            .objects
            .list(
                request.info,
                request.namespace.as_deref(),
                &probe,
                Consistency::Serializable,
            )
            .await?;
        Ok(!rest.items.is_empty())
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
