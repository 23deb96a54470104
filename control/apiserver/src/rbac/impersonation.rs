//! Impersonation (`kubectl --as=<user> --as-group=<group>`, the `Impersonate-User` and
//! `Impersonate-Group` headers), as kube-apiserver's impersonation filter does it: the caller
//! needs `impersonate` on `users/<name>` (or `serviceaccounts/<name>` in the account's
//! namespace for `system:serviceaccount:<ns>:<name>`) and on `groups/<group>` for each group;
//! the request then runs as that user, in the requested groups plus `system:authenticated`
//! (a service account without requested groups gets its own groups).

use http::HeaderMap;
use skiff_api::rbac::{
    AUTHENTICATED, Attributes, ResourceAttributes, SERVICE_ACCOUNT_PREFIX, Target,
};
use skiff_api::status::ApiError;

use crate::ApiServer;
use crate::auth::Identity;

const USER: &str = "impersonate-user";
const GROUP: &str = "impersonate-group";

/// The impersonated user and groups a request asks for, if any.
fn requested(headers: &HeaderMap) -> Result<Option<(String, Vec<String>)>, ApiError> {
    let text = |v: &http::HeaderValue| v.to_str().map(str::to_owned).ok();
    let user = headers.get(USER).and_then(text);
    let groups: Vec<String> = headers.get_all(GROUP).iter().filter_map(text).collect();
    match user {
        Some(user) if !user.is_empty() => Ok(Some((user, groups))),
        _ if !groups.is_empty() => Err(ApiError::bad_request(format!(
            "requested {groups:?} without impersonating a user"
        ))),
        _ => Ok(None),
    }
}

/// `(namespace, name)` of a service account's user name.
fn service_account(user: &str) -> Option<(&str, &str)> {
    user.strip_prefix(SERVICE_ACCOUNT_PREFIX)?.split_once(':')
}

impl ApiServer {
    /// The identity a request runs as: the caller's, or the one it may impersonate.
    pub(crate) async fn impersonate(
        &self,
        caller: Identity,
        headers: &HeaderMap,
    ) -> Result<Identity, ApiError> {
        let Some((user, groups)) = requested(headers)? else {
            return Ok(caller);
        };
        let mut targets = vec![match service_account(&user) {
            Some((ns, name)) => ("serviceaccounts", ns.to_owned(), name.to_owned()),
            None => ("users", String::new(), user.clone()),
        }];
        targets.extend(groups.iter().map(|g| ("groups", String::new(), g.clone())));
        for (resource, namespace, name) in targets {
            let attributes = Attributes {
                user: caller.user_info(),
                verb: "impersonate".into(),
                target: Target::Resource(ResourceAttributes {
                    namespace,
                    resource: resource.to_owned(),
                    name: name.clone(),
                    ..ResourceAttributes::default()
                }),
            };
            if !self.rbac_decision(&attributes).await?.allowed {
                let mut e = ApiError::forbidden(format!(
                    "{resource} {name:?} is forbidden: {}",
                    attributes.forbidden_message()
                ));
                e.kind = Some(resource.to_owned());
                e.name = Some(name);
                return Err(e);
            }
        }
        Ok(match service_account(&user) {
            Some((namespace, name)) if groups.is_empty() => Identity::ServiceAccount {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            },
            _ => {
                let mut groups = groups;
                if !groups.iter().any(|g| g == AUTHENTICATED) {
                    groups.push(AUTHENTICATED.to_owned());
                }
                Identity::User { name: user, groups }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_name_a_user_and_groups() {
        let mut headers = HeaderMap::new();
        assert!(requested(&headers).unwrap().is_none());
        headers.append(GROUP, "ops".parse().unwrap());
        assert_eq!(requested(&headers).unwrap_err().code, 400);
        headers.append(GROUP, "dev".parse().unwrap());
        headers.insert(USER, "alice".parse().unwrap());
        assert_eq!(
            requested(&headers).unwrap(),
            Some(("alice".to_owned(), vec!["ops".to_owned(), "dev".to_owned()]))
        );
        assert_eq!(
            service_account("system:serviceaccount:dev:ci"),
            Some(("dev", "ci"))
        );
        assert_eq!(service_account("alice"), None);
    }
}
