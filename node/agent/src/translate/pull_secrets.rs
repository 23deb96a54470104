//! `imagePullSecrets`: the credentials a pod names for its images' registries, read as the
//! kubelet reads them (`kubernetes.io/dockerconfigjson`'s `.dockerconfigjson` with an `auths`
//! map, or the older `kubernetes.io/dockercfg`'s `.dockercfg`; each entry's `username` and
//! `password`, or its `auth` as base64 `user:password`). The first secret with an entry for the
//! image's registry wins; none means an anonymous pull. Pure.

use base64::Engine as _;
use serde_json::Value;
use skiff_api::k8s_openapi::api::core::v1::{Pod, Secret};
use skiff_runtime_wasm::image::OciAuth;

use super::References;

/// The registry host of an image reference (`docker.io` when it names none, as Docker reads
/// `library/app:1`).
pub fn registry_host(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

/// The credentials the pod's `imagePullSecrets` hold for `image`'s registry.
pub fn pull_auth(pod: &Pod, image: &str, refs: &References) -> Option<OciAuth> {
    let host = registry_host(image);
    let names = pod.spec.as_ref()?.image_pull_secrets.as_ref()?;
    names
        .iter()
        .filter_map(|r| refs.secrets.get(&r.name))
        .find_map(|secret| auth_in(secret, host))
}

fn auth_in(secret: &Secret, host: &str) -> Option<OciAuth> {
    let data = secret.data.as_ref()?;
    let auths: Value = if let Some(json) = data.get(".dockerconfigjson") {
        serde_json::from_slice::<Value>(&json.0)
            .ok()?
            .get("auths")?
            .clone()
    } else {
        serde_json::from_slice(&data.get(".dockercfg")?.0).ok()?
    };
    let (_, entry) = auths
        .as_object()?
        .iter()
        .find(|(key, _)| entry_host(key) == host)?;
    let text = |k: &str| {
        entry
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    if let (Some(username), Some(password)) = (text("username"), text("password")) {
        return Some(OciAuth::Basic {
            username: username.to_owned(),
            password: password.to_owned(),
        });
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text("auth")?)
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (username, password) = decoded.split_once(':')?;
    Some(OciAuth::Basic {
        username: username.to_owned(),
        password: password.to_owned(),
    })
}

/// A config entry's key as a host: `https://host:port/v1/` -> `host:port`.
fn entry_host(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = key.split('/').next().unwrap_or(key);
    match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_api::k8s_openapi::ByteString;
    use std::collections::BTreeMap;

    fn secret(key: &str, json: Value) -> std::sync::Arc<Secret> {
        std::sync::Arc::new(Secret {
            data: Some(BTreeMap::from([(
                key.to_owned(),
                ByteString(serde_json::to_vec(&json).unwrap()),
            )])),
            ..Secret::default()
        })
    }

    fn pod(secrets: &[&str]) -> Pod {
        serde_json::from_value(serde_json::json!({"spec": {"containers": [],
            "imagePullSecrets": secrets.iter().map(|s| serde_json::json!({"name": s})).collect::<Vec<_>>()}}))
        .unwrap()
    }

    #[test]
    fn registry_hosts_as_docker_reads_them() {
        for (image, host) in [
            ("127.0.0.1:5000/app:v1", "127.0.0.1:5000"),
            ("ghcr.io/org/app:1", "ghcr.io"),
            ("localhost/app", "localhost"),
            ("library/app:1", "docker.io"),
            ("app", "docker.io"),
        ] {
            assert_eq!(registry_host(image), host, "{image}");
        }
    }

    #[test]
    fn the_first_secret_with_an_entry_for_the_registry_wins() {
        let basic = |u: &str, p: &str| OciAuth::Basic {
            username: u.into(),
            password: p.into(),
        };
        let refs = References {
            secrets: BTreeMap::from([
                (
                    "other".into(),
                    secret(
                        ".dockerconfigjson",
                        serde_json::json!({"auths": {"ghcr.io": {"username": "g", "password": "x"}}}),
                    ),
                ),
                (
                    "auth-field".into(),
                    secret(
                        ".dockerconfigjson",
                        serde_json::json!({"auths": {"https://127.0.0.1:5000/v2/": {"auth": "YWxpY2U6czNjcmV0"}}}),
                    ),
                ),
                (
                    "fields".into(),
                    secret(
                        ".dockerconfigjson",
                        serde_json::json!({"auths": {"127.0.0.1:5000": {"username": "bob", "password": "pw"}}}),
                    ),
                ),
                (
                    "legacy".into(),
                    secret(
                        ".dockercfg",
                        serde_json::json!({"quay.io": {"username": "q", "password": "r"}}),
                    ),
                ),
            ]),
            ..References::default()
        };
        let image = "127.0.0.1:5000/app:v1";
        assert_eq!(
            pull_auth(&pod(&["other", "auth-field", "fields"]), image, &refs),
            Some(basic("alice", "s3cret"))
        );
        assert_eq!(
            pull_auth(&pod(&["missing", "fields"]), image, &refs),
            Some(basic("bob", "pw"))
        );
        assert_eq!(pull_auth(&pod(&["other"]), image, &refs), None);
        assert_eq!(pull_auth(&pod(&[]), image, &refs), None);
        assert_eq!(
            pull_auth(&pod(&["legacy"]), "quay.io/a/b:1", &refs),
            Some(basic("q", "r"))
        );
    }
}
