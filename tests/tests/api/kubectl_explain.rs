//! `kubectl explain` against one replica: every served kind, field paths through `$ref`s,
//! arrays and maps, `--recursive`, kubectl's error for an unknown field; the group/version
//! document comes from kubectl's HTTP cache on the next run; and `apply` still leaves
//! validation to the server once the documents carry schemas.

use std::time::Duration;

use anyhow::{Context, ensure};
use skiff_tests::{Kubectl, run_bounded};

use crate::manifests::one_replica;

#[test]
fn kubectl_explain_prints_field_documentation() {
    run_bounded(
        "kubectl_explain_prints_field_documentation",
        Duration::from_secs(150),
        async {
            let replica = one_replica("kubectl-explain").await?;
            let kubectl = Kubectl::for_replica(&replica)?;
            every_kind(&kubectl).await?;
            fields(&kubectl).await?;
            cached_and_still_validating(&kubectl).await
        },
    );
}

/// Requires every one of `lines` to be a whole line of `out`.
fn expect_lines(out: &str, lines: &[&str]) -> anyhow::Result<()> {
    for want in lines {
        ensure!(
            out.lines().any(|l| l == *want),
            "expected the line {want:?} in\n{out}"
        );
    }
    Ok(())
}

/// The text of the DESCRIPTION section, unwrapped into one line.
fn description(out: &str) -> String {
    let words: Vec<&str> = out
        .lines()
        .skip_while(|l| *l != "DESCRIPTION:")
        .skip(1)
        .take_while(|l| *l != "FIELDS:")
        .flat_map(str::split_whitespace)
        .collect();
    words.join(" ")
}

/// Each served kind by its short name (or plural): KIND (and GROUP) lines and a description.
async fn every_kind(kubectl: &Kubectl) -> anyhow::Result<()> {
    let kinds = [
        ("ns", "", "Namespace"),
        ("no", "", "Node"),
        ("po", "", "Pod"),
        ("svc", "", "Service"),
        ("ep", "", "Endpoints"),
        ("cm", "", "ConfigMap"),
        ("secrets", "", "Secret"),
        ("ev", "", "Event"),
        ("sa", "", "ServiceAccount"),
        ("deploy", "apps", "Deployment"),
        ("rs", "apps", "ReplicaSet"),
        ("ds", "apps", "DaemonSet"),
        ("controllerrevisions", "apps", "ControllerRevision"),
        ("rc", "", "ReplicationController"),
        ("pdb", "policy", "PodDisruptionBudget"),
        ("jobs", "batch", "Job"),
        ("cj", "batch", "CronJob"),
        ("hpa", "autoscaling", "HorizontalPodAutoscaler"),
        ("leases", "coordination.k8s.io", "Lease"),
        ("endpointslices", "discovery.k8s.io", "EndpointSlice"),
        ("netpol", "networking.k8s.io", "NetworkPolicy"),
        ("roles", "rbac.authorization.k8s.io", "Role"),
        (
            "clusterrolebindings",
            "rbac.authorization.k8s.io",
            "ClusterRoleBinding",
        ),
    ];
    for (name, group, kind) in kinds {
        let out = kubectl.ok(&["explain", name]).await?;
        expect_lines(&out, &[&format!("KIND:       {kind}"), "FIELDS:"])?;
        if !group.is_empty() {
            expect_lines(&out, &[&format!("GROUP:      {group}")])?;
        }
        expect_lines(&out, &["  metadata\t<ObjectMeta>"])?;
        ensure!(
            description(&out).len() > 20,
            "{name}: no description in\n{out}"
        );
    }
    Ok(())
}

/// Field paths, `--recursive`, and an unknown field.
async fn fields(kubectl: &Kubectl) -> anyhow::Result<()> {
    let out = kubectl
        .ok(&["explain", "pods.spec.containers.image"])
        .await?;
    expect_lines(&out, &["KIND:       Pod", "FIELD: image <string>"])?;
    let text = description(&out);
    ensure!(
        text.starts_with("Container image name. More info:"),
        "image: {text}"
    );

    let out = kubectl.ok(&["explain", "deployment.spec.replicas"]).await?;
    expect_lines(&out, &["GROUP:      apps", "FIELD: replicas <integer>"])?;
    ensure!(
        description(&out).starts_with("Number of desired pods."),
        "replicas: {out}"
    );

    // A field of a named type: its own description, then its type's.
    let path = "deployment.spec.template.spec.containers";
    let out = kubectl.ok(&["explain", path]).await?;
    expect_lines(
        &out,
        &["FIELD: containers <[]Container>", "  image\t<string>"],
    )?;
    let text = description(&out);
    ensure!(
        text.starts_with("List of containers belonging to the pod.")
            && text.contains("A single application container that you want to run within a pod."),
        "containers: {text}"
    );

    let out = kubectl
        .ok(&["explain", "po.spec.containers.resources.limits"])
        .await?;
    expect_lines(&out, &["FIELD: limits <map[string]Quantity>"])?;

    let out = kubectl.ok(&["explain", "svc", "--recursive"]).await?;
    expect_lines(
        &out,
        &[
            "KIND:       Service",
            "  spec\t<ServiceSpec>",
            "    ports\t<[]ServicePort>",
            "      port\t<integer> -required-",
            "      targetPort\t<IntOrString>",
            "    selector\t<map[string]string>",
            "  status\t<ServiceStatus>",
        ],
    )?;

    let err = kubectl
        .fails(&["explain", "pods.spec.containers.nope"], "")
        .await?;
    ensure!(
        err.trim() == "error: field \"nope\" does not exist",
        "unknown field: {err}"
    );
    Ok(())
}

/// A second run takes the group/version document from kubectl's cache (it was served for its
/// hash with `Cache-Control: immutable`); `apply` with the same cache still sends
/// `fieldValidation=Strict` and gets the server's error.
async fn cached_and_still_validating(kubectl: &Kubectl) -> anyhow::Result<()> {
    let out = kubectl.run(&["explain", "pods.spec", "-v=8"], "").await?;
    ensure!(out.success, "explain -v=8 failed: {}", out.stderr);
    // klog's lines: the request's (with its URL), then the response's status and headers.
    let lines: Vec<&str> = out.stderr.lines().collect();
    let is_request = |l: &str| l.contains("\"Request\" verb=");
    let start = lines
        .iter()
        .position(|l| is_request(l) && l.contains("/openapi/v3/api/v1?hash="))
        .with_context(|| format!("no request for the api/v1 document:\n{}", out.stderr))?;
    let end = lines[start + 1..]
        .iter()
        .position(|l| is_request(l))
        .map_or(lines.len(), |i| start + 1 + i);
    let response = lines[start..end].join("\n");
    ensure!(
        response.contains("status=\"200 OK\"") && response.contains("X-From-Cache: 1"),
        "api/v1 document not answered from kubectl's cache:\n{response}"
    );

    let manifest =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strict\ndata:\n  a: b\nbogus: 1\n";
    let err = kubectl.fails(&["apply", "-f", "-"], manifest).await?;
    ensure!(
        err.trim()
            == "Error from server (BadRequest): error when creating \"STDIN\": strict decoding error: unknown field \"bogus\"",
        "apply with an unknown field: {err}"
    );
    Ok(())
}
