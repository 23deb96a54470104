//! The skiff CLI end to end, as a person uses it: `skiff up` (whose context the CLI finds in
//! the kubeconfig it wrote), then `skiff run` of a local .wasm, scale, logs -f, rollout
//! restart/status/undo, delete, get/describe/top/nodes, apply of folders and stdin, the
//! errors kubectl would print, a node joined with `skiff token create`, `skiff up --detach`
//! and `skiff down`, shell completions, README command 1 (`scripts/run.sh`), README's tour
//! (`skiff push`, run from the registry, get, logs, scale, delete) and the web dashboard in
//! headless Chromium. The real kubectl checks what skiff did.

mod dashboard;
mod detach;
mod errors;
mod fleet_view;
mod output;
mod port_forward;
mod readme;
mod support;
mod tour;
mod workflow;

use std::time::Duration;

use skiff_tests::{Kubectl, Replica, ReplicaOptions, run_bounded};
use support::{Skiff, poll};

/// The node of the shared `skiff up`.
pub const NODE: &str = "cli-node";

/// One `skiff up` for every step of the main test; each step cleans up what it made.
#[test]
fn cli_drives_skiff_up() {
    run_bounded("cli", Duration::from_secs(900), async {
        let options = ReplicaOptions::up("cli").args([
            "--name",
            NODE,
            "--lease-seconds",
            "2",
            "--metrics-seconds",
            "1",
        ]);
        let mut up = Replica::start(options).await?;
        // The CLI reads the context `skiff up` merged into its $KUBECONFIG.
        let skiff = Skiff::new(&up.user_kubeconfig());
        let kubectl = Kubectl::for_replica(&up)?;
        poll("the node is listed Ready by skiff nodes", || async {
            let out = skiff.ok(&["nodes"]).await?;
            Ok(out
                .lines()
                .any(|l| l.starts_with(NODE) && l.contains(" Ready ")))
        })
        .await?;
        workflow::run_scale_logs_rollout_delete(&skiff, &kubectl).await?;
        tour::readme_tour(&skiff).await?;
        output::formats_round_trip(&skiff, &kubectl).await?;
        output::apply_folders_and_conflicts(&skiff, &kubectl).await?;
        errors::read_as_kubectl(&skiff, &kubectl).await?;
        fleet_view::top_nodes_and_token(&skiff, &kubectl).await?;
        up.stop().await;
        Ok(())
    });
}

/// The node of the dashboard's `skiff up`.
pub const DASHBOARD_NODE: &str = "dash-node";

/// The web dashboard in headless Chromium (`dashboard.rs`), on a `skiff up --no-kubeconfig`.
#[test]
fn dashboard_in_chromium() {
    run_bounded("cli-dashboard", Duration::from_secs(600), async {
        let options = ReplicaOptions::up("cli-dash").args([
            "--name",
            DASHBOARD_NODE,
            "--metrics-seconds",
            "1",
            "--crash-backoff-base-ms",
            "300",
            "--no-kubeconfig",
        ]);
        let mut up = Replica::start(options).await?;
        let kubectl = Kubectl::for_replica(&up)?;
        dashboard::drive(&up, &kubectl).await?;
        // Told not to, `skiff up` left the user's kubeconfig alone (kubectl above used the
        // admin kubeconfig in the data directory).
        let user = up.user_kubeconfig();
        anyhow::ensure!(!user.exists(), "{} was written", user.display());
        up.stop().await;
        Ok(())
    });
}

#[test]
fn detach_writes_the_context_and_down_stops_it() {
    run_bounded(
        "cli-detach",
        Duration::from_secs(300),
        detach::up_detach_down(),
    );
}

#[test]
fn completions_are_shell_scripts() {
    run_bounded(
        "cli-completion",
        Duration::from_secs(60),
        detach::completions(),
    );
}

/// `skiff port-forward`, kube-rs and the Python client over the WebSocket channel protocol.
#[test]
fn port_forward_speaks_the_channel_protocol() {
    run_bounded("cli-port-forward", Duration::from_secs(420), async {
        let options = ReplicaOptions::up("cli-pf").args(["--name", "pf-node"]);
        let mut up = Replica::start(options).await?;
        let kubeconfig = up.user_kubeconfig();
        let skiff = Skiff::new(&kubeconfig);
        let kubectl = Kubectl::for_replica(&up)?;
        poll("the node is listed Ready by skiff nodes", || async {
            let out = skiff.ok(&["nodes"]).await?;
            Ok(out
                .lines()
                .any(|l| l.starts_with("pf-node") && l.contains(" Ready ")))
        })
        .await?;
        port_forward::channel_protocol(&skiff, &kubectl, &kubeconfig).await?;
        up.stop().await;
        Ok(())
    });
}

/// README command 1 (`readme.rs`).
#[test]
fn readme_command_one_deploys_the_http_example_and_curl_answers() {
    run_bounded(
        "readme_command_one",
        Duration::from_secs(600),
        readme::readme_command_one(),
    );
}
