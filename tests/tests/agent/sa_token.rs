//! The projected ServiceAccount token: a pod admitted with the `kube-api-access-*` volume
//! reads its token, `ca.crt` and `namespace` under /var/run/secrets/kubernetes.io/serviceaccount
//! (the agent got the token through TokenRequest, bound to the pod); the token authenticates
//! as the pod's account with the pod's claims while the pod exists, and is 401 once it is
//! deleted. A pod with `automountServiceAccountToken: false` gets no volume.

use anyhow::{Context, ensure};
use base64::Engine;
use http::Method;
use serde_json::{Value, json};
use skiff_tests::{ApiClient, run_bounded};

use crate::support::{LIMIT, WAIT, guest, pod, poll, start};

const NODE: &str = "token-node";
const DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// An env-printer container printing `file` (it exits 0 after printing).
fn printer(name: &str, file: &str) -> anyhow::Result<Value> {
    Ok(json!({"name": name, "image": guest("env-printer")?,
              "env": [{"name": "CONFIG_FILE", "value": format!("{DIR}/{file}")}]}))
}

/// The claims of a JWT (its middle part), unverified.
fn claims(token: &str) -> anyhow::Result<Value> {
    let payload = token.split('.').nth(1).context("not a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload)?;
    Ok(serde_json::from_slice(&bytes)?)
}

async fn who_am_i(client: &ApiClient) -> anyhow::Result<skiff_tests::api_client::Answer> {
    let review = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
    let path = "/apis/authentication.k8s.io/v1/selfsubjectreviews";
    client.json(Method::POST, path, &review).await
}

#[test]
fn a_pod_reads_its_bound_token_which_dies_with_it() {
    run_bounded("projected_service_account_token", LIMIT, async {
        let mut s = start(NODE).await?;
        // The controller manager publishes the CA and makes the default account.
        poll("kube-root-ca.crt and the default account", WAIT, || async {
            let cm = s
                .kubectl
                .run(&["get", "configmap", "kube-root-ca.crt"], "")
                .await?;
            let sa = s
                .kubectl
                .run(&["get", "serviceaccount", "default"], "")
                .await?;
            Ok(cm.success && sa.success)
        })
        .await?;
        s.apply(&json!({"apiVersion": "v1", "kind": "ServiceAccount",
                        "metadata": {"name": "robot", "namespace": "default"}}))
            .await?;
        let containers = json!([
            printer("token", "token")?,
            printer("ns", "namespace")?,
            printer("ca", "ca.crt")?
        ]);
        let spec = json!({"restartPolicy": "Never", "serviceAccountName": "robot",
                          "containers": containers});
        s.apply(&pod("reader", NODE, json!({}), spec)).await?;
        let stored = s.pod("reader").await?.context("pod reader")?;
        let volume = &stored["spec"]["volumes"][0];
        ensure!(
            volume["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("kube-api-access-"))
                && volume["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"]
                    == 3607,
            "admission: {}",
            stored["spec"]
        );
        s.wait_status("reader", "Completed").await?;
        let uid = stored["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let log = |c: &str| s.agent.container_log(&uid, c);
        ensure!(
            log("ns").contains(&format!("config {DIR}/namespace: default")),
            "{}",
            log("ns")
        );
        ensure!(
            log("ca").contains("-----BEGIN CERTIFICATE-----"),
            "{}",
            log("ca")
        );
        let token_log = log("token");
        let prefix = format!("config {DIR}/token: ");
        let token = token_log
            .lines()
            .find_map(|l| l.split_once(&prefix).map(|(_, token)| token))
            .with_context(|| format!("no token in {token_log}"))?
            .to_owned();

        let c = claims(&token)?;
        ensure!(c["sub"] == "system:serviceaccount:default:robot", "{c}");
        ensure!(c["kubernetes.io"]["pod"]["name"] == "reader", "{c}");
        ensure!(c["kubernetes.io"]["pod"]["uid"] == uid.as_str(), "{c}");
        ensure!(c["aud"] == json!(["https://kubernetes.default.svc"]), "{c}");
        let life = c["exp"].as_i64().unwrap_or(0) - c["iat"].as_i64().unwrap_or(0);
        ensure!(life == 3607, "lifetime {life}: {c}");

        let as_pod = ApiClient::with_token(&s.replica, Some(&token))?;
        let me = who_am_i(&as_pod).await?.ok()?;
        ensure!(
            me["status"]["userInfo"]["username"] == "system:serviceaccount:default:robot",
            "{me}"
        );
        s.kubectl
            .ok(&["delete", "pod", "reader", "--wait=true"])
            .await?;
        poll(
            "the token stops working with its pod gone",
            WAIT,
            || async { Ok(who_am_i(&as_pod).await?.status.as_u16() == 401) },
        )
        .await?;

        let opted_out = json!({"restartPolicy": "Never", "automountServiceAccountToken": false,
                               "containers": [printer("token", "token")?]});
        s.apply(&pod("no-token", NODE, json!({}), opted_out))
            .await?;
        let stored = s.pod("no-token").await?.context("pod no-token")?;
        ensure!(stored["spec"]["volumes"].is_null(), "{}", stored["spec"]);
        Ok(())
    });
}
