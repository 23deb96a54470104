//! Turns an HTTP method, path and query into what the API server must do: the verb, the
//! resource, the namespace, the name, the subresource and the query options.

use http::Method;
use skiff_api::resources::{self, ResourceInfo};
use skiff_api::status::ApiError;

/// What a request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

/// A request against a resource, parsed from its URL.
#[derive(Clone, Debug)]
pub struct ResourceRequest {
    pub verb: Verb,
    pub info: &'static ResourceInfo,
    /// The namespace in the path, if any (`None` for cluster-scoped or all-namespace requests).
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    pub query: Query,
}

/// The query parameters the API server understands.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub watch: bool,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub allow_watch_bookmarks: bool,
    pub dry_run: bool,
    pub field_manager: Option<String>,
    pub field_validation: Option<String>,
    pub force: bool,
    pub include_object: Option<String>,
    pub propagation_policy: Option<String>,
    pub grace_period_seconds: Option<i64>,
    /// `pods/log`'s container.
    pub container: Option<String>,
    /// The whole query string (`pods/log` passes its options on to the node).
    pub raw: String,
}

impl Query {
    pub fn parse(raw: &str) -> Query {
        let mut q = Query {
            raw: raw.to_owned(),
            ..Query::default()
        };
        for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
            let v = v.into_owned();
            match &*k {
                "watch" => q.watch = v == "true" || v == "1",
                "resourceVersion" => q.resource_version = Some(v).filter(|v| !v.is_empty()),
                "resourceVersionMatch" => {
                    q.resource_version_match = Some(v).filter(|v| !v.is_empty())
                }
                "labelSelector" => q.label_selector = Some(v).filter(|v| !v.is_empty()),
                "fieldSelector" => q.field_selector = Some(v).filter(|v| !v.is_empty()),
                "limit" => q.limit = v.parse().ok().filter(|n| *n > 0),
                "continue" => q.continue_token = Some(v).filter(|v| !v.is_empty()),
                "timeoutSeconds" => q.timeout_seconds = v.parse().ok(),
                "allowWatchBookmarks" => q.allow_watch_bookmarks = v == "true",
                "dryRun" => q.dry_run = v == "All",
                "fieldManager" => q.field_manager = Some(v),
                "fieldValidation" => q.field_validation = Some(v),
                "force" => q.force = v == "true",
                "includeObject" => q.include_object = Some(v),
                "propagationPolicy" => q.propagation_policy = Some(v),
                "gracePeriodSeconds" => q.grace_period_seconds = v.parse().ok(),
                "container" => q.container = Some(v),
                _ => {}
            }
        }
        q
    }
}

/// Parses `/api/v1/...` and `/apis/<group>/<version>/...`. `Ok(None)`: not a resource path
/// (discovery and the like are served elsewhere).
pub(crate) fn parse(
    method: &Method,
    path: &str,
    query: &str,
) -> Result<Option<ResourceRequest>, ApiError> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Ok(None),
    };
    if rest.is_empty() {
        return Ok(None);
    }
    let mut query = Query::parse(query);
    // The deprecated `/watch/` path prefix means watch=true.
    let rest = match rest {
        ["watch", tail @ ..] => {
            query.watch = true;
            tail
        }
        _ => rest,
    };
    let (namespace, rest) = split_namespace(group, rest);
    let (plural, name, subresource) = match rest.as_slice() {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some((*name).to_owned()), None),
        [plural, name, sub] => (*plural, Some((*name).to_owned()), Some((*sub).to_owned())),
        _ => {
            return Err(ApiError::new(
                404,
                "NotFound",
                format!("the server could not find the requested resource ({path})"),
            ));
        }
    };
    let info = find_served(group, version, plural, subresource.as_deref())?;
    if info.namespaced && name.is_some() && namespace.is_none() {
        return Err(ApiError::new(
            404,
            "NotFound",
            format!(
                "{} are namespaced: use /namespaces/<ns>/{}",
                info.plural, info.plural
            ),
        ));
    }
    let namespace = if info.namespaced { namespace } else { None };
    let verb = verb_of(method, name.is_some(), query.watch).ok_or_else(|| {
        ApiError::method_not_allowed(format!("{method} is not supported on {path}"))
    })?;
    Ok(Some(ResourceRequest {
        verb,
        info,
        namespace,
        name,
        subresource,
        query,
    }))
}

/// Takes `namespaces/<ns>/` off the front of a resource path. `/api/v1/namespaces/<name>`
/// with `status` or `finalize` addresses the Namespace object itself, not a namespace.
fn split_namespace<'a>(group: &str, rest: &[&'a str]) -> (Option<String>, Vec<&'a str>) {
    match rest {
        ["namespaces", ns, sub] if group.is_empty() && (*sub == "status" || *sub == "finalize") => {
            (None, vec!["namespaces", ns, sub])
        }
        ["namespaces", ns, plural, tail @ ..] => {
            (Some((*ns).to_owned()), [&[*plural][..], tail].concat())
        }
        _ => (None, rest.to_vec()),
    }
}

/// The served resource `group/version/plural`, which must serve `subresource` if one is named.
fn find_served(
    group: &str,
    version: &str,
    plural: &str,
    subresource: Option<&str>,
) -> Result<&'static ResourceInfo, ApiError> {
    let info = resources::find(group, version, plural).ok_or_else(|| {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    })?;
    match subresource {
        Some(sub) if !info.subresources.contains(&sub) => Err(ApiError::new(
            404,
            "NotFound",
            format!("{}/{sub} is not a served subresource", info.plural),
        )),
        _ => Ok(info),
    }
}

/// The Kubernetes verb of an HTTP method on a collection (`named` false) or an object.
fn verb_of(method: &Method, named: bool, watch: bool) -> Option<Verb> {
    Some(match (method, named) {
        (&Method::GET, _) if watch => Verb::Watch,
        (&Method::GET, true) => Verb::Get,
        (&Method::GET, false) => Verb::List,
        (&Method::POST, _) => Verb::Create,
        (&Method::PUT, true) => Verb::Update,
        (&Method::PATCH, true) => Verb::Patch,
        (&Method::DELETE, true) => Verb::Delete,
        (&Method::DELETE, false) => Verb::DeleteCollection,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(method: Method, path: &str) -> ResourceRequest {
        parse(&method, path, "").unwrap().unwrap()
    }

    #[test]
    fn paths_map_to_requests() {
        let r = p(Method::GET, "/api/v1/namespaces/default/pods/web/log");
        assert_eq!(
            (
                r.verb,
                r.info.plural,
                r.namespace.as_deref(),
                r.name.as_deref(),
                r.subresource.as_deref()
            ),
            (Verb::Get, "pods", Some("default"), Some("web"), Some("log"))
        );
        let r = p(Method::GET, "/api/v1/pods");
        assert_eq!((r.verb, r.namespace), (Verb::List, None));
        let r = p(Method::GET, "/api/v1/namespaces/kube-system");
        assert_eq!(
            (r.info.plural, r.name.as_deref()),
            ("namespaces", Some("kube-system"))
        );
        let r = p(Method::PUT, "/api/v1/namespaces/x/status");
        assert_eq!(
            (
                r.info.plural,
                r.name.as_deref(),
                r.subresource.as_deref(),
                r.verb
            ),
            ("namespaces", Some("x"), Some("status"), Verb::Update)
        );
        let r = p(
            Method::PATCH,
            "/apis/apps/v1/namespaces/a/deployments/d/scale",
        );
        assert_eq!(
            (r.verb, r.info.kind, r.subresource.as_deref()),
            (Verb::Patch, "Deployment", Some("scale"))
        );
        let r = parse(
            &Method::GET,
            "/api/v1/namespaces/a/pods",
            "watch=1&resourceVersion=5",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (r.verb, r.query.resource_version.as_deref()),
            (Verb::Watch, Some("5"))
        );
        assert_eq!(
            p(Method::DELETE, "/api/v1/namespaces/a/configmaps").verb,
            Verb::DeleteCollection
        );
        assert!(parse(&Method::GET, "/api/v1", "").unwrap().is_none());
        assert_eq!(
            parse(&Method::GET, "/api/v1/widgets", "").unwrap_err().code,
            404
        );
        assert_eq!(
            parse(&Method::GET, "/api/v1/namespaces/a/pods/x/proxy", "")
                .unwrap_err()
                .code,
            404
        );
        // kubectl's WebSocket exec is a GET, its SPDY fallback a POST, both of `pods/exec`.
        for (method, verb) in [(Method::GET, Verb::Get), (Method::POST, Verb::Create)] {
            let r = p(method, "/api/v1/namespaces/a/pods/x/exec");
            assert_eq!((r.verb, r.subresource.as_deref()), (verb, Some("exec")));
        }
    }
}
