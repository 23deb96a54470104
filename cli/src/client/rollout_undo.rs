//! `skiff rollout undo deployment/NAME [--to-revision N]`, as kubectl does it: among the
//! ReplicaSets the Deployment owns, take the one of the wanted revision (default: the
//! highest below the current), strip its `pod-template-hash` label, and put its template
//! back on the Deployment with a JSON patch. [`choose`] decides without I/O.

use serde_json::{Value, json};

use super::failure::Failure;
use super::session::Session;

/// The revision annotation the Deployment controller puts on each ReplicaSet.
const REVISION: &str = "deployment.kubernetes.io/revision";

pub async fn run(session: &Session, target: &str, to_revision: u64) -> Result<(), Failure> {
    let (path, name) = super::rollout::deployment_path(session, target).await?;
    let deployment = session.get_json(&path).await?;
    let uid = deployment["metadata"]["uid"].as_str().unwrap_or_default();
    let sets_path = format!("/apis/apps/v1/namespaces/{}/replicasets", session.namespace);
    let sets = session.get_json(&sets_path).await?;
    let owned: Vec<&Value> = sets["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rs| {
            rs["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|o| o["uid"] == uid)
        })
        .collect();
    let template = choose(&owned, to_revision)?;
    if template == deployment["spec"]["template"] {
        println!(
            "deployment.apps/{name} skipped rollback (current template already matches the revision)"
        );
        return Ok(());
    }
    let patch = json!([{"op": "replace", "path": "/spec/template", "value": template}]);
    session
        .call(
            http::Method::PATCH,
            &path,
            "application/json-patch+json",
            &patch,
        )
        .await?;
    println!("deployment.apps/{name} rolled back");
    Ok(())
}

fn revision_of(object: &Value) -> u64 {
    object["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// The template to roll back to: revision `to` (0: the previous one, the second highest
/// revision among the ReplicaSets, as kubectl's rollbacker takes it), with the controller's
/// `pod-template-hash` label removed.
pub fn choose(owned: &[&Value], to: u64) -> Result<Value, Failure> {
    let current = owned.iter().map(|rs| revision_of(rs)).max().unwrap_or(0);
    let wanted = owned
        .iter()
        .filter(|rs| {
            let r = revision_of(rs);
            if to == 0 {
                r > 0 && r < current
            } else {
                r == to
            }
        })
        .max_by_key(|rs| revision_of(rs));
    let Some(rs) = wanted else {
        return Err(Failure::Usage(if to == 0 {
            "no rollout history found for deployment: no previous revision".into()
        } else {
            format!("unable to find specified revision {to} in history")
        }));
    };
    let mut template = rs["spec"]["template"].clone();
    if let Some(labels) = template["metadata"]["labels"].as_object_mut() {
        labels.remove("pod-template-hash");
    }
    Ok(template)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(revision: &str, image: &str) -> Value {
        json!({"metadata": {"annotations": {REVISION: revision}},
               "spec": {"template": {"metadata": {"labels": {"app": "web", "pod-template-hash": "x"}},
                                      "spec": {"containers": [{"image": image}]}}}})
    }

    #[test]
    fn undo_picks_the_previous_revision() {
        let (one, two, three) = (rs("1", "a"), rs("2", "b"), rs("3", "c"));
        let owned = [&one, &three, &two];
        let back = choose(&owned, 0).unwrap();
        assert_eq!(back["spec"]["containers"][0]["image"], "b");
        assert_eq!(back["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(
            choose(&owned, 1).unwrap()["spec"]["containers"][0]["image"],
            "a"
        );
        assert!(choose(&[&one], 0).is_err());
        assert!(choose(&owned, 7).is_err());
    }
}
