//! Label and field selectors: parsing (`?labelSelector=`, `?fieldSelector=`, a
//! `LabelSelector` in a spec), validation as Kubernetes does it, matching objects, and
//! printing back to the string form.
//!
//! - [`LabelSelector`]: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`,
//!   `a>1`, `a<1`, joined by `,` (AND). Keys and values are validated like Kubernetes
//!   (qualified names, 63-character label values). Printing sorts by key, as
//!   `labels.Parse` does.
//! - [`FieldSelector`]: `path=value`, `path==value`, `path!=value` joined by `,`, with `\`
//!   escapes for `\`, `,` and `=` in values. Matching reads the dotted path from the JSON
//!   object; a missing field is `""`.
//!
//! An empty selector matches everything. (A *missing* `LabelSelector` in a spec — e.g. a
//! Service without `selector` — matches nothing; that is for the caller to decide.)

mod field;
mod label;
mod label_parse;
mod names;

#[cfg(test)]
mod field_tests;
#[cfg(test)]
mod tests;

pub use field::{FieldRequirement, FieldSelector};
pub use label::{LabelSelector, Operator, Requirement};

use crate::status::ApiError;

/// Why a selector was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// The selector text does not parse.
    #[error("unable to parse requirement: {0}")]
    Syntax(String),
    /// A label key that is not a qualified name (`[prefix/]name`).
    #[error("invalid label key {key:?}: {reason}")]
    InvalidKey { key: String, reason: String },
    /// A label value longer than 63 characters or with characters labels cannot hold.
    #[error("invalid label value {value:?}: {reason}")]
    InvalidValue { value: String, reason: String },
    /// A `LabelSelector` with an operator other than In, NotIn, Exists, DoesNotExist, or
    /// values that do not fit its operator.
    #[error("invalid label selector requirement for key {key:?}: {reason}")]
    InvalidRequirement { key: String, reason: String },
}

impl SelectorError {
    /// 400 BadRequest, as kube-apiserver answers a bad `labelSelector`/`fieldSelector`.
    pub fn to_api_error(&self) -> ApiError {
        ApiError::bad_request(self.to_string())
    }
}
