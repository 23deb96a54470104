//! The fleet view and metrics (`skiff nodes`, `skiff top nodes|pods`) and a second node
//! joined with a credential from `skiff token create --node`: a real `skiff agent
//! --credential FILE` registers that node, which `skiff nodes` then lists Ready.

use anyhow::ensure;
use skiff_tests::{Agent, Kubectl};

use crate::NODE;
use crate::support::{Skiff, guest, poll};

pub async fn top_nodes_and_token(skiff: &Skiff, kubectl: &Kubectl) -> anyhow::Result<()> {
    let busy = guest("busy-loop")?;
    skiff
        .ok(&["run", "busy", "--image", &busy, "--wait"])
        .await?;
    poll("skiff top pods shows the busy loop's CPU", || async {
        let out = skiff.run(&["top", "pods"], "").await?;
        Ok(out.code == Some(0)
            && out.stdout.starts_with("NAME ")
            && out
                .stdout
                .lines()
                .any(|l| l.starts_with("busy-") && !l.contains(" 0m ")))
    })
    .await?;
    poll("skiff top nodes and skiff nodes show use", || async {
        let top = skiff.run(&["top", "nodes"], "").await?;
        let nodes = skiff.ok(&["nodes"]).await?;
        let row = nodes
            .lines()
            .find(|l| l.starts_with(NODE))
            .unwrap_or_default()
            .to_owned();
        Ok(top.code == Some(0)
            && top
                .stdout
                .lines()
                .any(|l| l.starts_with(NODE) && l.contains('%'))
            && row.contains(" Ready ")
            && row.contains("1/110")
            && row.contains("%)"))
    })
    .await?;
    skiff.ok(&["delete", "deploy", "busy"]).await?;
    token_joins_a_node(skiff, kubectl).await
}

/// `skiff token create --node edge-1` makes the Secret and a credential file; an agent
/// started with it registers edge-1, Ready; a second token for the name is AlreadyExists.
async fn token_joins_a_node(skiff: &Skiff, kubectl: &Kubectl) -> anyhow::Result<()> {
    let dir = skiff_tests::scratch_dir("cli-token")?;
    let file = dir.join("edge-1.json");
    let file_arg = file.display().to_string();
    let ran = skiff
        .run(
            &["token", "create", "--node", "edge-1", "-o", &file_arg],
            "",
        )
        .await?;
    ensure!(
        ran.code == Some(0) && ran.stderr.contains("skiff agent --credential"),
        "{ran:?}"
    );
    let secret = kubectl
        .ok(&[
            "-n",
            "kube-system",
            "get",
            "secret",
            "node-token-edge-1",
            "-o",
            "jsonpath={.type}",
        ])
        .await?;
    ensure!(secret == "skiff.io/node-token", "{secret}");
    let again = skiff
        .fails(
            &[
                "token",
                "create",
                "--node",
                "edge-1",
                "-o",
                &dir.join("again.json").display().to_string(),
            ],
            "",
        )
        .await?;
    ensure!(
        again.starts_with("Error from server (AlreadyExists): "),
        "{again}"
    );

    let mut agent = Agent::prepare(
        "edge-1",
        &["--credential", &file_arg, "--lease-seconds", "2"],
    )?;
    agent.spawn()?;
    poll("edge-1 joined with the token is Ready", || async {
        let nodes = skiff.ok(&["nodes"]).await?;
        Ok(nodes
            .lines()
            .any(|l| l.starts_with("edge-1 ") && l.contains(" Ready ")))
    })
    .await?;
    agent.stop(std::time::Duration::from_secs(30)).await?;
    Ok(())
}
