//! ConfigMaps and Secrets reach pods as environment variables (one key, or all with
//! envFrom) and as files, and a pod waiting for a missing ConfigMap
//! (CreateContainerConfigError) starts once it is created.

use crate::support::{LIMIT, guest, pod, start};
use serde_json::json;
use skiff_tests::run_bounded;

const NODE: &str = "config-node";

#[test]
fn config_maps_become_env_and_files_and_a_missing_one_holds_the_container() {
    run_bounded("config_maps", LIMIT, async {
        let mut s = start(NODE).await?;
        s.apply(&json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "app", "namespace": "default"},
            "data": {"GREETING": "hello from a configmap", "app.conf": "mode=fast"}}))
            .await?;
        s.apply(&json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "app-secret", "namespace": "default"},
            "data": {"word": "c3dvcmRmaXNo"}}))
            .await?;
        let printer = json!({"name": "printer", "image": guest("env-printer")?,
            "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "GREETING"}}},
                    {"name": "WORD", "valueFrom": {"secretKeyRef": {"name": "app-secret", "key": "word"}}}],
            "volumeMounts": [{"name": "config", "mountPath": "/config"}]});
        let volumes = json!({"restartPolicy": "Never",
            "volumes": [{"name": "config", "configMap": {"name": "app"}}]});
        s.apply(&pod("printer", NODE, printer, volumes.clone()))
            .await?;
        s.wait_status("printer", "Completed").await?;
        let uid = s.pod("printer").await?.unwrap_or_default()["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let log = s.agent.container_log(&uid, "printer");
        anyhow::ensure!(
            log.contains("env GREETING=hello from a configmap"),
            "log: {log}"
        );
        anyhow::ensure!(
            log.contains("config /config/app.conf: mode=fast"),
            "log: {log}"
        );
        anyhow::ensure!(
            log.contains("env WORD=swordfish"),
            "the node could not read the Secret: {log}"
        );

        // The Secret as a file, and both objects whole as env (envFrom).
        let files = json!({"name": "printer", "image": guest("env-printer")?,
            "env": [{"name": "CONFIG_FILE", "value": "/secret/word"}],
            "envFrom": [{"configMapRef": {"name": "app"}}, {"prefix": "S_", "secretRef": {"name": "app-secret"}}],
            "volumeMounts": [{"name": "secret", "mountPath": "/secret"}]});
        let secret_volume = json!({"restartPolicy": "Never",
            "volumes": [{"name": "secret", "secret": {"secretName": "app-secret"}}]});
        s.apply(&pod("secret-files", NODE, files, secret_volume))
            .await?;
        s.wait_status("secret-files", "Completed").await?;
        let log = s.kubectl.ok(&["logs", "secret-files"]).await?;
        for line in [
            "config /secret/word: swordfish",
            "env GREETING=hello from a configmap",
            "env S_word=swordfish",
        ] {
            anyhow::ensure!(log.contains(line), "no {line:?} in the log:\n{log}");
        }

        let late = json!({"name": "late", "image": guest("env-printer")?,
            "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "late", "key": "GREETING"}}}],
            "volumeMounts": [{"name": "config", "mountPath": "/config"}]});
        s.apply(&pod("late", NODE, late, volumes)).await?;
        s.wait_status("late", "CreateContainerConfigError").await?;
        let describe = s.kubectl.ok(&["describe", "pod", "late"]).await?;
        anyhow::ensure!(
            describe.contains("configmap \"late\" not found"),
            "{describe}"
        );
        s.apply(&json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "late", "namespace": "default"}, "data": {"GREETING": "finally"}}))
            .await?;
        s.wait_status("late", "Completed").await?;
        Ok(())
    });
}
