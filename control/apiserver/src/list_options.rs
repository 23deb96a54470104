//! Which revision a list is read at, decided from its `resourceVersion`,
//! `resourceVersionMatch`, `limit` and `continue` parameters as kube-apiserver decides
//! (`ValidateListOptions` in apimachinery, then the storage layer's own checks), and the
//! continue token that carries a paginated list's snapshot revision and position. Pure: no I/O.

use base64::Engine;
use skiff_api::status::{ApiError, FieldError};

use super::request::Query;

/// The revision a list reads its first page at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListStart {
    /// No `resourceVersion`: the newest state, through a quorum (linearizable) read.
    Newest,
    /// `resourceVersion=N` (`NotOlderThan`, or no match without `limit`): any state of this
    /// replica at least as new as N; `0` accepts whatever this replica has.
    NotOlderThan(u64),
    /// Exactly revision N: `resourceVersionMatch=Exact`, kube's legacy `resourceVersion=N`
    /// with a `limit`, and every page after the first (the continue token's revision).
    Exact(u64),
}

/// A list's read plan: where it starts and, on a continued list, the key it resumes after.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ListPlan {
    pub start: ListStart,
    pub after: Option<String>,
}

/// What a continue token carries: the first page's revision and the last key returned.
#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    rv: u64,
    after: String,
}

/// The continue token of a page that ended at `after`, read at revision `rv`.
pub(crate) fn encode_continue(rv: u64, after: String) -> String {
    let json = serde_json::to_vec(&ContinueToken { rv, after }).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_continue(token: &str, prefix: &str) -> Result<ContinueToken, ApiError> {
    let invalid = |why: &str| ApiError::bad_request(format!("invalid continue token: {why}"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid("continue key is not valid: not base64"))?;
    let decoded: ContinueToken = serde_json::from_slice(&bytes)
        .map_err(|_| invalid("continue key is not valid: incorrect encoding"))?;
    if decoded.rv == 0 {
        return Err(invalid(
            "continue key is not valid: incorrect encoded start resourceVersion",
        ));
    }
    if !decoded.after.starts_with(prefix) {
        return Err(invalid(
            "continue key is not valid: the key is not within this list",
        ));
    }
    Ok(decoded)
}

/// The 422 kube-apiserver gives list options that contradict each other.
fn invalid_options(causes: Vec<FieldError>) -> ApiError {
    ApiError::invalid("ListOptions", "meta.k8s.io", "", causes)
}

/// apimachinery's `ValidateListOptions` for a list (not a watch).
fn validate(query: &Query) -> Result<(), ApiError> {
    let Some(matching) = query.resource_version_match.as_deref() else {
        return Ok(());
    };
    let field = "resourceVersionMatch";
    let mut causes = Vec::new();
    if query.resource_version.is_none() {
        causes.push(FieldError::forbidden(
            field,
            "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
        ));
    }
    if query.continue_token.is_some() {
        causes.push(FieldError::forbidden(
            field,
            "Forbidden: resourceVersionMatch is forbidden when continue is provided",
        ));
    }
    if matching != "Exact" && matching != "NotOlderThan" {
        causes.push(FieldError::not_supported(
            field,
            format!(
                "Unsupported value: \"{matching}\": supported values: \"Exact\", \"NotOlderThan\", \"\""
            ),
        ));
    }
    if matching == "Exact" && query.resource_version.as_deref() == Some("0") {
        causes.push(FieldError::forbidden(
            field,
            "Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
        ));
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(invalid_options(causes))
    }
}

/// The read plan of a list of keys under `prefix` with these parameters.
pub(crate) fn plan(query: &Query, prefix: &str) -> Result<ListPlan, ApiError> {
    validate(query)?;
    let rv = match query.resource_version.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "invalid resource version: resourceVersion: Invalid value: \"{text}\": must be a non-negative integer"
            ))
        })?),
    };
    if let Some(token) = query.continue_token.as_deref() {
        if rv.is_some_and(|rv| rv != 0) {
            return Err(ApiError::bad_request(
                "specifying resource version is not allowed when using continue",
            ));
        }
        let token = decode_continue(token, prefix)?;
        return Ok(ListPlan {
            start: ListStart::Exact(token.rv),
            after: Some(token.after),
        });
    }
    let start = match (rv, query.resource_version_match.as_deref()) {
        (None, _) => ListStart::Newest,
        (Some(rv), Some("Exact")) => ListStart::Exact(rv),
        (Some(rv), None) if rv > 0 && query.limit.is_some() => ListStart::Exact(rv),
        (Some(rv), _) => ListStart::NotOlderThan(rv),
    };
    Ok(ListPlan { start, after: None })
}

/// kube-apiserver's 410 for a continue token whose revision was compacted away.
pub(crate) fn continue_expired() -> ApiError {
    ApiError::expired(
        "The provided continue parameter is too old to display a consistent list result. You can \
         start a new list without the continue parameter.",
    )
}

#[cfg(test)]
mod tests;
