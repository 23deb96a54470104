//! `skiff up`: ORAS pushes a module to the built-in registry and a pod whose image is
//! `registry.skiff.local/...` reaches Running (the agent pulls with its node credentials) and
//! answers HTTP through `kubectl port-forward`.

use std::time::Duration;

use skiff_tests::{Kubectl, Replica, ReplicaOptions, run_bounded};

use crate::support::{OrasTarget, example, pod, wait_running};

#[test]
fn a_module_oras_pushed_runs_from_registry_skiff_local() {
    run_bounded("registry-run", Duration::from_secs(240), async {
        let options = ReplicaOptions::up("registry-run").args(["--name", "registry-node"]);
        let up = Replica::start(options).await?;
        let kubectl = Kubectl::for_replica(&up)?;
        let oras = OrasTarget::builtin(&up)?;
        oras.push("web/server:v1", &example("http-server")?).await?;
        kubectl
            .ok_stdin(
                &["apply", "-f", "-"],
                &pod("pushed", "registry.skiff.local/web/server:v1", None).to_string(),
            )
            .await?;
        wait_running(&kubectl, "pushed", Duration::from_secs(120)).await?;
        // Running comes as the guest starts, a moment before it listens.
        skiff_tests::fleet::poll(
            "the pushed module answers through a port-forward",
            Duration::from_secs(60),
            || async {
                Ok(kubectl
                    .get_through_port_forward("pod/pushed", 8080, "/from-the-registry")
                    .await
                    .is_ok_and(|a| a.contains("hello from http-server /from-the-registry")))
            },
        )
        .await
    });
}
