//! Images that cannot run, through kubectl: an OCI reference whose registry cannot be
//! reached shows ErrImagePull, then ImagePullBackOff, with Pulling, Failed and BackOff
//! events; a file that is not WebAssembly holds the container in CreateContainerError
//! with a message that says so, in the container's state and in an event.

use std::time::Duration;

use anyhow::ensure;
use serde_json::json;
use skiff_tests::{run_bounded, scratch_dir};

use crate::support::{LIMIT, pod, start, status_of};

const NODE: &str = "images-node";

/// A loopback port nothing listens on (bound, then closed).
fn closed_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

#[test]
fn bad_images_show_pull_and_create_errors() {
    run_bounded("agent_images", LIMIT, async {
        let mut s = start(NODE).await?;
        let image = format!("127.0.0.1:{}/missing/app:v1", closed_port()?);
        let bad = json!({"name": "app", "image": image});
        s.apply(&pod("bad-ref", NODE, bad, json!({}))).await?;
        let mut watch = s.watch_pod("bad-ref")?;
        let bound = Duration::from_secs(30);
        watch
            .line_matching(bound, |l| status_of(l) == "ErrImagePull")
            .await?;
        watch
            .line_matching(bound, |l| status_of(l) == "ImagePullBackOff")
            .await?;
        watch.kill().await?;
        let describe = s
            .wait_describe(
                "bad-ref",
                &[
                    &format!("Pulling image \"{image}\""),
                    &format!("failed to pull image \"{image}\""),
                    &format!("Back-off pulling image \"{image}\""),
                    "Error: ErrImagePull",
                    "Error: ImagePullBackOff",
                    "Reason:       ImagePullBackOff",
                ],
            )
            .await?;
        // The cause, not only "error sending request".
        ensure!(
            describe.contains("Connection refused"),
            "no cause:\n{describe}"
        );
        for reason in ["Pulling", "Failed", "BackOff"] {
            ensure!(describe.contains(reason), "no {reason} event:\n{describe}");
        }

        let dir = scratch_dir("images")?;
        let text = dir.join("not-wasm.wasm");
        std::fs::write(&text, "#!/bin/sh\necho this is a shell script\n")?;
        let text = text.display().to_string();
        let not_wasm = json!({"name": "app", "image": text});
        s.apply(&pod("not-wasm", NODE, not_wasm, json!({}))).await?;
        s.wait_status("not-wasm", "CreateContainerError").await?;
        let p = s.pod("not-wasm").await?.unwrap_or_default();
        let waiting = &p["status"]["containerStatuses"][0]["state"]["waiting"];
        let message = waiting["message"].as_str().unwrap_or_default();
        ensure!(
            message.contains("not a WebAssembly binary") && message.contains(&text),
            "waiting: {waiting}"
        );
        let describe = s.wait_describe("not-wasm", &["Warning  Failed"]).await?;
        ensure!(
            describe.contains("Error: image ")
                && describe.contains("cannot run as a Wasm container: not a WebAssembly binary"),
            "{describe}"
        );
        Ok(())
    });
}
