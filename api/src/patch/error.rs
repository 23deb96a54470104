//! Why a patch could not be applied, and the Kubernetes `Status` each failure becomes
//! (400 BadRequest, 404 NotFound, 409 Conflict, 422 Invalid).

use crate::status::{ApiError, FieldError};

/// A field another manager owns that an apply would change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldConflict {
    /// The other manager, e.g. `kubectl-client-side-apply`.
    pub manager: String,
    /// The apiVersion that manager's entry was recorded with (`apps/v1`).
    pub api_version: String,
    /// The field in Kubernetes' spelling: `.spec.replicas`,
    /// `.spec.template.spec.containers[name="app"].image`.
    pub field: String,
}

/// A patch failure. [`PatchError::to_api_error`] turns it into the Status kubectl prints.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The body does not parse, or has the wrong shape for its patch type (400).
    #[error("{0}")]
    BadRequest(String),
    /// The body parses but cannot be applied to this object: a JSON patch `test` that
    /// fails, a path that does not exist, a strategic directive that contradicts the
    /// object (422).
    #[error("{0}")]
    Invalid(String),
    /// Server-side apply would change fields other managers own, and `force` is off (409).
    #[error("Apply failed with {} conflict(s)", .0.len())]
    Conflict(Vec<FieldConflict>),
    /// The object does not exist and the patch type cannot create it (404).
    #[error("the object does not exist")]
    NotFound,
}

impl PatchError {
    pub(crate) fn bad(message: impl Into<String>) -> Self {
        PatchError::BadRequest(message.into())
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        PatchError::Invalid(message.into())
    }

    /// The Status for this failure on `group_resource` (`pods`, `deployments.apps`) `name`.
    pub fn to_api_error(&self, group_resource: &str, name: &str) -> ApiError {
        match self {
            PatchError::BadRequest(m) => ApiError::bad_request(m.clone()),
            PatchError::Invalid(m) => {
                let mut e = ApiError::new(422, "Invalid", m.clone());
                set_details(&mut e, group_resource, name);
                e
            }
            PatchError::NotFound => ApiError::not_found(group_resource, name),
            PatchError::Conflict(conflicts) => conflict_error(conflicts, group_resource, name),
        }
    }
}

fn set_details(e: &mut ApiError, group_resource: &str, name: &str) {
    let (kind, group) = match group_resource.split_once('.') {
        Some((k, g)) => (k.to_owned(), Some(g.to_owned())),
        None => (group_resource.to_owned(), None),
    };
    e.kind = Some(kind);
    e.group = group;
    e.name = Some(name.to_owned());
}

/// kube-apiserver's wording: `Apply failed with 1 conflict: conflict with "kubectl" using
/// apps/v1: .spec.replicas`, and for several, one `- field` line per conflict.
fn conflict_error(conflicts: &[FieldConflict], group_resource: &str, name: &str) -> ApiError {
    let message = match conflicts {
        [one] => format!(
            "Apply failed with 1 conflict: conflict with \"{}\" using {}: {}",
            one.manager, one.api_version, one.field
        ),
        many => {
            let mut m = format!("Apply failed with {} conflicts:", many.len());
            for c in many {
                m.push_str(&format!(
                    " conflict with \"{}\" using {}: {};",
                    c.manager, c.api_version, c.field
                ));
            }
            m.pop();
            m
        }
    };
    let mut e = ApiError::new(409, "Conflict", message);
    set_details(&mut e, group_resource, name);
    e.causes = conflicts
        .iter()
        .map(|c| FieldError {
            field: c.field.clone(),
            kind: "FieldManagerConflict",
            message: format!("conflict with \"{}\" using {}", c.manager, c.api_version),
        })
        .collect();
    e
}
