//! Kubernetes `Status` errors: the one error shape every API failure takes, with the code,
//! reason and message kubectl prints ("Error from server (NotFound): pods \"x\" not found").

use serde_json::{Value, json};

/// One invalid field, as listed in a 422 `Invalid` Status's `details.causes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field path, e.g. `metadata.name` or `spec.containers[0].image`.
    pub field: String,
    /// Kubernetes cause type, e.g. `FieldValueInvalid`, `FieldValueRequired`.
    pub kind: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            kind: "FieldValueInvalid",
            message: message.into(),
        }
    }
    pub fn required(field: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            kind: "FieldValueRequired",
            message: "Required value".into(),
        }
    }
    pub fn forbidden(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            kind: "FieldValueForbidden",
            message: message.into(),
        }
    }
    pub fn not_supported(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            kind: "FieldValueNotSupported",
            message: message.into(),
        }
    }
    pub fn unknown(field: impl Into<String>) -> Self {
        let field = field.into();
        let message = format!("unknown field \"{field}\"");
        FieldError {
            field,
            kind: "FieldValueInvalid",
            message,
        }
    }

    /// `spec.replicas: Invalid value: -1: must be greater than or equal to 0` style text.
    pub fn describe(&self) -> String {
        match self.kind {
            "FieldValueRequired" => format!("{}: Required value", self.field),
            _ => format!("{}: {}", self.field, self.message),
        }
    }
}

/// An API failure, turned into a `Status` object by `to_json`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason} ({code}): {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    /// `details.kind` (the resource, e.g. `pods`) and `details.name`.
    pub kind: Option<String>,
    pub name: Option<String>,
    pub group: Option<String>,
    pub causes: Vec<FieldError>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            kind: None,
            name: None,
            group: None,
            causes: Vec::new(),
        }
    }

    fn about(mut self, group_resource: &str, name: &str) -> Self {
        let (kind, group) = match group_resource.split_once('.') {
            Some((k, g)) => (k.to_owned(), Some(g.to_owned())),
            None => (group_resource.to_owned(), None),
        };
        self.kind = Some(kind);
        self.group = group;
        self.name = Some(name.to_owned());
        self
    }

    /// `pods "x" not found` (group_resource like `pods` or `deployments.apps`).
    pub fn not_found(group_resource: &str, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{group_resource} \"{name}\" not found"),
        )
        .about(group_resource, name)
    }

    pub fn already_exists(group_resource: &str, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{group_resource} \"{name}\" already exists"),
        )
        .about(group_resource, name)
    }

    /// The optimistic-concurrency failure, worded as kube-apiserver words it.
    pub fn conflict(group_resource: &str, name: &str) -> Self {
        let message = format!(
            "Operation cannot be fulfilled on {group_resource} \"{name}\": the object has been modified; \
             please apply your changes to the latest version and try again"
        );
        Self::new(409, "Conflict", message).about(group_resource, name)
    }

    /// 422: `Deployment.apps "x" is invalid: [spec.replicas: Invalid value ...]`.
    pub fn invalid(kind: &str, group: &str, name: &str, causes: Vec<FieldError>) -> Self {
        let qualified = if group.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}.{group}")
        };
        let list: Vec<String> = causes.iter().map(FieldError::describe).collect();
        let joined = if list.len() == 1 {
            list[0].clone()
        } else {
            format!("[{}]", list.join(", "))
        };
        let mut e = Self::new(
            422,
            "Invalid",
            format!("{qualified} \"{name}\" is invalid: {joined}"),
        );
        e.kind = Some(kind.to_owned());
        e.group = (!group.is_empty()).then(|| group.to_owned());
        e.name = Some(name.to_owned());
        e.causes = causes;
        e
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    /// 410 for a resourceVersion older than the watch history.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("the request body is larger than {limit} bytes"),
        )
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format: {content_type}"),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(504, "Timeout", message)
    }

    /// The `Status` object.
    pub fn to_json(&self) -> Value {
        let mut details = serde_json::Map::new();
        if let Some(name) = &self.name {
            details.insert("name".into(), json!(name));
        }
        if let Some(group) = &self.group {
            details.insert("group".into(), json!(group));
        }
        if let Some(kind) = &self.kind {
            details.insert("kind".into(), json!(kind));
        }
        if !self.causes.is_empty() {
            let causes: Vec<Value> = self
                .causes
                .iter()
                .map(|c| {
                    let mut cause = json!({ "reason": c.kind, "message": c.message });
                    // Go's `omitempty`: a cause about no field (a disruption budget) has none.
                    if !c.field.is_empty() {
                        cause["field"] = json!(c.field);
                    }
                    cause
                })
                .collect();
            details.insert("causes".into(), json!(causes));
        }
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if !details.is_empty() {
            status["details"] = Value::Object(details);
        }
        // Go's `omitempty`: a failure with no reason (several disruption budgets) has none.
        if self.reason.is_empty()
            && let Some(map) = status.as_object_mut()
        {
            map.remove("reason");
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_objects_read_like_kube_apiservers() {
        let s = ApiError::not_found("deployments.apps", "web").to_json();
        assert_eq!(s["message"], "deployments.apps \"web\" not found");
        assert_eq!(
            (s["code"].as_u64(), s["details"]["group"].as_str()),
            (Some(404), Some("apps"))
        );
        let e = ApiError::invalid(
            "Pod",
            "",
            "x",
            vec![FieldError::required("spec.containers")],
        );
        assert_eq!(
            e.message,
            "Pod \"x\" is invalid: spec.containers: Required value"
        );
        assert_eq!(
            e.to_json()["details"]["causes"][0]["reason"],
            "FieldValueRequired"
        );
    }
}
