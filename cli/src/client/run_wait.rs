//! The end of `skiff run`: waiting until the Deployment is Available with a live progress
//! line, and telling how to reach what runs (the NodePort on the node's address, or
//! `skiff port-forward`).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::failure::Failure;
use super::run::{POLL, RunArgs};
use super::session::Session;

/// Waits until `name` is Available with all replicas updated, or `timeout` seconds pass.
pub async fn available(session: &Session, name: &str, timeout: u64) -> Result<(), Failure> {
    let path = format!(
        "/apis/apps/v1/namespaces/{}/deployments/{name}",
        session.namespace
    );
    let line = indicatif::ProgressBar::new_spinner();
    line.enable_steady_tick(Duration::from_millis(120));
    let deadline = Instant::now() + Duration::from_secs(timeout);
    loop {
        let deployment = session.get_json(&path).await?;
        let (done, text) = availability(&deployment);
        if done {
            line.finish_and_clear();
            println!("deployment \"{name}\" is available: {text}");
            return Ok(());
        }
        line.set_message(format!("waiting for deployment \"{name}\": {text}"));
        if Instant::now() >= deadline {
            line.finish_and_clear();
            return Err(Failure::Usage(format!(
                "deployment \"{name}\" not available after {timeout}s ({text}); see `skiff describe deployment {name}` and `skiff get pods -l app={name}`"
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether the Deployment is Available with every replica updated, and a short summary.
pub fn availability(deployment: &Value) -> (bool, String) {
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    let (spec, status) = (&deployment["spec"], &deployment["status"]);
    let wanted = spec["replicas"].as_i64().unwrap_or(1);
    let ready = int(&status["availableReplicas"]);
    let updated = int(&status["updatedReplicas"]);
    let observed = int(&status["observedGeneration"]) >= int(&deployment["metadata"]["generation"]);
    let available = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Available" && c["status"] == "True");
    let done = observed
        && available
        && ready >= wanted
        && updated >= wanted
        && int(&status["replicas"]) == wanted;
    (
        done,
        format!("{ready}/{wanted} available, {updated} updated"),
    )
}

/// Prints where the app answers: the NodePort URL on the first node's address, or the
/// port-forward command that reaches it.
pub async fn print_reach(session: &Session, args: &RunArgs) -> Result<(), Failure> {
    let name = &args.name;
    let Some(port) = args.port else {
        println!("see it run: skiff get pods -l app={name}; skiff logs deployment/{name}");
        return Ok(());
    };
    if args.expose {
        let svc = session
            .get_json(&format!(
                "/api/v1/namespaces/{}/services/{name}",
                session.namespace
            ))
            .await?;
        let node_port = svc["spec"]["ports"][0]["nodePort"].as_u64();
        let nodes = session.get_json("/api/v1/nodes").await?;
        if let (Some(node_port), Some(address)) = (node_port, node_address(&nodes)) {
            println!("reach it at: http://{address}:{node_port}/");
        }
    }
    println!("or forward a local port: kubectl port-forward deployment/{name} {port}:{port}");
    Ok(())
}

/// The first node's InternalIP (else any address).
fn node_address(nodes: &Value) -> Option<String> {
    let addresses = nodes["items"][0]["status"]["addresses"].as_array()?;
    addresses
        .iter()
        .find(|a| a["type"] == "InternalIP")
        .or_else(|| addresses.first())
        .and_then(|a| a["address"].as_str())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn available_only_when_every_replica_is() {
        let d = |avail: i64, cond: &str| {
            json!({"metadata": {"generation": 1}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": avail,
                       "conditions": [{"type": "Available", "status": cond}]}})
        };
        assert_eq!(
            super::availability(&d(2, "True")),
            (true, "2/2 available, 2 updated".into())
        );
        assert!(!super::availability(&d(1, "True")).0);
        assert!(!super::availability(&d(2, "False")).0);
    }
}
