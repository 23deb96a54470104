//! Resource names resolved as kubectl resolves them: a plural (`deployments`), a singular
//! (`deployment`), a short name (`deploy`), a kind (`Deployment`), each optionally qualified
//! by its group (`deployments.apps`), looked up in the server's discovery documents
//! (`/api/v1`, `/apis` and each group's preferred version).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResource;

use super::failure::Failure;
use super::session::Session;

/// One served resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// Empty for the core group.
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
}

impl Resource {
    /// `deployments.apps`, `pods`: how kubectl names the resource in messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `deployment.apps/x`, `pod/x`: kubectl's `-o name`.
    pub fn object_name(&self, name: &str) -> String {
        format!("{}/{name}", self.kind_group())
    }

    /// `deployment.apps`, `pod`: how kubectl names one object's type in messages.
    pub fn kind_group(&self) -> String {
        let kind = self.kind.to_lowercase();
        if self.group.is_empty() {
            kind
        } else {
            format!("{kind}.{}", self.group)
        }
    }

    /// `v1`, `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The collection path (in `namespace` when the resource is namespaced and one is given).
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        let root = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace {
            Some(ns) if self.namespaced => format!("{root}/namespaces/{ns}/{}", self.plural),
            _ => format!("{root}/{}", self.plural),
        }
    }

    /// The path of one object.
    pub fn object_path(&self, namespace: &str, name: &str) -> String {
        format!("{}/{name}", self.collection_path(Some(namespace)))
    }

    /// Whether `word` (lower case, no group) names this resource.
    fn answers_to(&self, word: &str) -> bool {
        self.plural == word
            || self.singular == word
            || self.kind.to_lowercase() == word
            || self.short_names.iter().any(|s| s == word)
    }
}

/// Every resource the server serves (preferred versions, no subresources).
pub async fn served(session: &Session) -> Result<Vec<Resource>, Failure> {
    let client = &session.client;
    let mut all = Vec::new();
    let core = client
        .list_core_api_resources("v1")
        .await
        .map_err(|e| session.explain(e))?;
    all.extend(core.resources.iter().filter_map(|r| from_api("", "v1", r)));
    let groups = client
        .list_api_groups()
        .await
        .map_err(|e| session.explain(e))?;
    for group in groups.groups {
        let Some(version) = group
            .preferred_version
            .or_else(|| group.versions.first().cloned())
        else {
            continue;
        };
        let list = client
            .list_api_group_resources(&version.group_version)
            .await
            .map_err(|e| session.explain(e))?;
        all.extend(
            list.resources
                .iter()
                .filter_map(|r| from_api(&group.name, &version.version, r)),
        );
    }
    Ok(all)
}

fn from_api(group: &str, version: &str, api: &APIResource) -> Option<Resource> {
    if api.name.contains('/') {
        return None;
    }
    Some(Resource {
        group: group.to_owned(),
        version: version.to_owned(),
        plural: api.name.clone(),
        singular: if api.singular_name.is_empty() {
            api.kind.to_lowercase()
        } else {
            api.singular_name.clone()
        },
        kind: api.kind.clone(),
        namespaced: api.namespaced,
        short_names: api.short_names.clone().unwrap_or_default(),
    })
}

/// Resolves `word` (`deploy`, `Deployment`, `deployments.apps`) among `served`.
pub fn pick(served: &[Resource], word: &str) -> Result<Resource, Failure> {
    let lower = word.to_lowercase();
    let exact = served.iter().find(|r| r.answers_to(&lower));
    let qualified = || {
        let (name, group) = lower.split_once('.')?;
        served
            .iter()
            .find(|r| r.group == group && r.answers_to(name))
    };
    // Core and the built-in groups come first in discovery order, as kubectl prefers them.
    exact.or_else(qualified).cloned().ok_or_else(|| {
        Failure::Usage(format!(
            "the server doesn't have a resource type \"{word}\""
        ))
    })
}

/// Resolves one type name against the server.
pub async fn resolve(session: &Session, word: &str) -> Result<Resource, Failure> {
    pick(&served(session).await?, word)
}

/// Splits `TYPE/NAME` (`deployment/web`), as kubectl's scale and rollout take it.
pub fn split_type_name(arg: &str) -> Result<(&str, &str), Failure> {
    arg.split_once('/')
        .filter(|(t, n)| !t.is_empty() && !n.is_empty())
        .ok_or_else(|| {
            Failure::Usage(format!(
                "expected TYPE/NAME (e.g. deployment/web), got \"{arg}\""
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(group: &str, plural: &str, kind: &str, short: &[&str]) -> Resource {
        Resource {
            group: group.into(),
            version: "v1".into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            kind: kind.into(),
            namespaced: true,
            short_names: short.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn names_resolve_like_kubectl() {
        let served = vec![
            resource("", "pods", "Pod", &["po"]),
            resource("", "services", "Service", &["svc"]),
            resource("apps", "deployments", "Deployment", &["deploy"]),
        ];
        let cases = [
            ("pods", "pods"),
            ("po", "pods"),
            ("Pod", "pods"),
            ("svc", "services"),
            ("deploy", "deployments"),
            ("deployment", "deployments"),
            ("deployments.apps", "deployments"),
            ("Deployment.apps", "deployments"),
        ];
        for (word, plural) in cases {
            assert_eq!(pick(&served, word).unwrap().plural, plural, "{word}");
        }
        let missing = pick(&served, "widgets").unwrap_err().to_string();
        assert_eq!(
            missing,
            "error: the server doesn't have a resource type \"widgets\""
        );
        assert_eq!(served[2].object_name("web"), "deployment.apps/web");
        assert_eq!(
            served[0].object_path("ns", "p"),
            "/api/v1/namespaces/ns/pods/p"
        );
    }
}
