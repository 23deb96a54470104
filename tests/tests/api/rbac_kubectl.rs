//! RBAC through the real kubectl: `get` tables and `describe` of roles and bindings (JSON and
//! Table reads), and `kubectl create token`, `auth can-i` (yes/no and exit code), `auth can-i
//! --list` as a view-only account and `auth whoami`, which kubectl sends as protobuf (they
//! need the protobuf request path of issue 18's other half).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, ensure};
use skiff_tests::{ApiClient, Kubectl, Replica, run_bounded};

use crate::manifests::{expect_header, one_replica};
use crate::rbac_support::{accounts, aggregated, sa_client};

const POLICY: &str = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: dev}
rules:
- apiGroups: [\"\"]
  resources: [pods, pods/log]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci-reads, namespace: dev}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects:
- {kind: ServiceAccount, name: ci, namespace: dev}
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: ops}
";

#[test]
fn kubectl_gets_and_describes_rbac_objects() {
    run_bounded(
        "kubectl_gets_and_describes_rbac_objects",
        Duration::from_secs(90),
        async {
            let replica = one_replica("rbac-kubectl").await?;
            let admin = ApiClient::admin(&replica)?;
            aggregated(&admin, "view", "pods").await?;
            accounts(&admin, &["dev"], &[("dev", "ci")]).await?;
            let kubectl = Kubectl::for_replica(&replica)?;
            let applied = kubectl.ok_stdin(&["apply", "-f", "-"], POLICY).await?;
            ensure!(
                applied.contains("role.rbac.authorization.k8s.io/pod-reader created"),
                "{applied}"
            );
            ensure!(
                applied.contains("rolebinding.rbac.authorization.k8s.io/ci-reads created"),
                "{applied}"
            );

            tables_and_descriptions(&kubectl).await?;
            impersonation(&kubectl, &replica, &admin).await?;
            let reviews = kubectl
                .ok(&["api-resources", "--api-group=authorization.k8s.io"])
                .await?;
            for name in [
                "selfsubjectaccessreviews",
                "selfsubjectrulesreviews",
                "subjectaccessreviews",
            ] {
                ensure!(
                    reviews.lines().any(|l| l.starts_with(name)),
                    "{name}: {reviews}"
                );
            }
            let rbac = kubectl
                .ok(&[
                    "api-resources",
                    "--api-group=rbac.authorization.k8s.io",
                    "-o",
                    "name",
                ])
                .await?;
            let mut names: Vec<&str> = rbac.lines().collect();
            names.sort_unstable();
            ensure!(
                names
                    == [
                        "clusterrolebindings.rbac.authorization.k8s.io",
                        "clusterroles.rbac.authorization.k8s.io",
                        "rolebindings.rbac.authorization.k8s.io",
                        "roles.rbac.authorization.k8s.io"
                    ],
                "{rbac}"
            );

            // Validation as Kubernetes': a rule without verbs.
            let bad = "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: bad, namespace: dev}\nrules:\n- {apiGroups: [\"\"], resources: [pods], verbs: []}\n";
            let err = kubectl.fails(&["apply", "-f", "-"], bad).await?;
            ensure!(
                err.contains(
                    "rules[0].verbs: Required value: verbs must contain at least one value"
                ),
                "{err}"
            );
            Ok(())
        },
    );
}

/// `get` tables and `describe` of roles, bindings and cluster roles.
async fn tables_and_descriptions(kubectl: &Kubectl) -> anyhow::Result<()> {
    let roles = kubectl.ok(&["get", "roles", "-n", "dev"]).await?;
    expect_header(&roles, &["NAME", "CREATED", "AT"])?;
    ensure!(
        roles
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("pod-reader ")),
        "{roles}"
    );
    let bindings = kubectl
        .ok(&["get", "rolebindings", "-n", "dev", "-o", "wide"])
        .await?;
    expect_header(
        &bindings,
        &["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"],
    )?;
    let row = bindings.lines().nth(1).unwrap_or_default();
    for cell in ["ci-reads", "Role/pod-reader", "alice", "ops", "dev/ci"] {
        ensure!(
            row.split_whitespace().any(|c| c == cell),
            "{cell} not in {row:?}"
        );
    }
    let cluster_roles = kubectl.ok(&["get", "clusterroles"]).await?;
    for name in [
        "cluster-admin",
        "admin",
        "edit",
        "view",
        "system:basic-user",
    ] {
        ensure!(
            cluster_roles
                .lines()
                .any(|l| l.starts_with(&format!("{name} "))),
            "{name}: {cluster_roles}"
        );
    }
    let crb = kubectl
        .ok(&["get", "clusterrolebinding", "cluster-admin", "-o", "wide"])
        .await?;
    ensure!(
        crb.contains("ClusterRole/cluster-admin") && crb.contains("system:masters"),
        "{crb}"
    );

    let described = kubectl
        .ok(&["describe", "role", "pod-reader", "-n", "dev"])
        .await?;
    ensure!(
        described.contains("pods/log") && described.contains("[get list watch]"),
        "{described}"
    );
    let described = kubectl
        .ok(&["describe", "rolebinding", "ci-reads", "-n", "dev"])
        .await?;
    ensure!(
        described.contains("ServiceAccount  ci") && described.contains("Role"),
        "{described}"
    );
    let view = kubectl.ok(&["describe", "clusterrole", "view"]).await?;
    ensure!(
        view.contains("deployments.apps") && !view.contains("secrets "),
        "{view}"
    );
    Ok(())
}

/// `kubectl --as`: the admin may impersonate anyone; the subjects of `ci-reads` read pods in
/// `dev` and nothing else; a service account may not impersonate.
async fn impersonation(
    kubectl: &Kubectl,
    replica: &Replica,
    admin: &ApiClient,
) -> anyhow::Result<()> {
    for who in [
        &["--as=alice"][..],
        &["--as=bob", "--as-group=ops"],
        &["--as=system:serviceaccount:dev:ci"],
    ] {
        let args: Vec<&str> = ["get", "pods", "-n", "dev"]
            .iter()
            .chain(who)
            .copied()
            .collect();
        kubectl.ok(&args).await?;
        let args: Vec<&str> = ["get", "pods", "-n", "default"]
            .iter()
            .chain(who)
            .copied()
            .collect();
        let refused = kubectl.fails(&args, "").await?;
        ensure!(
            refused.contains("Error from server (Forbidden): pods is forbidden: User"),
            "{who:?}: {refused}"
        );
    }
    let refused = kubectl
        .fails(&["get", "secrets", "-n", "dev", "--as=alice"], "")
        .await?;
    let expected = r#"secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace "dev""#;
    ensure!(refused.contains(expected), "{refused}");
    let (token, _) = sa_client(replica, admin, "dev", "ci").await?;
    let ci = Kubectl::new(&kubeconfig_with_token(replica, &token)?)?;
    ci.ok(&["get", "pods", "-n", "dev"]).await?;
    let refused = ci
        .fails(&["get", "pods", "-n", "dev", "--as=alice"], "")
        .await?;
    let expected = r#"users "alice" is forbidden: User "system:serviceaccount:dev:ci" cannot impersonate resource "users" in API group "" at the cluster scope"#;
    ensure!(refused.contains(expected), "{refused}");
    Ok(())
}

/// A copy of the admin kubeconfig that presents `token` instead.
fn kubeconfig_with_token(replica: &Replica, token: &str) -> anyhow::Result<PathBuf> {
    let text = std::fs::read_to_string(replica.data_dir.join("admin.kubeconfig"))?;
    let rewritten: Vec<String> = text
        .lines()
        .map(|line| match line.trim_start().strip_prefix("token: ") {
            Some(_) => format!(
                "{}token: {token}",
                &line[..line.len() - line.trim_start().len()]
            ),
            None => line.to_owned(),
        })
        .collect();
    let path = skiff_tests::scratch_dir("sa-kubeconfig")?.join("config");
    std::fs::write(&path, rewritten.join("\n") + "\n")?;
    Ok(path)
}

#[test]
fn kubectl_create_token_auth_can_i_and_whoami() {
    run_bounded(
        "kubectl_create_token_auth_can_i_and_whoami",
        Duration::from_secs(90),
        async {
            let replica = one_replica("rbac-can-i").await?;
            let admin = ApiClient::admin(&replica)?;
            aggregated(&admin, "view", "pods").await?;
            accounts(&admin, &["dev"], &[("dev", "ci")]).await?;
            let kubectl = Kubectl::for_replica(&replica)?;
            kubectl
                .ok(&[
                    "create",
                    "rolebinding",
                    "ci-view",
                    "-n",
                    "dev",
                    "--clusterrole=view",
                    "--serviceaccount=dev:ci",
                ])
                .await?;
            let token = kubectl
                .ok(&["create", "token", "ci", "-n", "dev", "--duration=10m"])
                .await?;
            let token = token.trim();
            ensure!(
                token.starts_with("eyJ") && token.split('.').count() == 3,
                "{token}"
            );
            let ci = Kubectl::new(&kubeconfig_with_token(&replica, token)?)?;

            let yes = ci
                .run(&["auth", "can-i", "list", "pods", "-n", "dev"], "")
                .await?;
            ensure!(yes.success && yes.stdout.trim() == "yes", "{yes:?}");
            for args in [
                ["auth", "can-i", "delete", "pods", "-n", "dev"],
                ["auth", "can-i", "list", "pods", "-n", "default"],
                ["auth", "can-i", "get", "secrets", "-n", "dev"],
            ] {
                let no = ci.run(&args, "").await?;
                ensure!(!no.success && no.stdout.trim() == "no", "{args:?}: {no:?}");
            }
            let listed = ci.ok(&["auth", "can-i", "--list", "-n", "dev"]).await?;
            expect_header(
                &listed,
                &[
                    "Resources",
                    "Non-Resource",
                    "URLs",
                    "Resource",
                    "Names",
                    "Verbs",
                ],
            )?;
            let pods = listed
                .lines()
                .find(|l| l.starts_with("pods "))
                .context("no pods row")?;
            ensure!(pods.contains("[get list watch]"), "{listed}");
            ensure!(
                !listed.lines().any(|l| l.starts_with("secrets ")),
                "{listed}"
            );

            let whoami = ci.ok(&["auth", "whoami"]).await?;
            ensure!(whoami.contains("system:serviceaccount:dev:ci"), "{whoami}");
            ensure!(whoami.contains("system:serviceaccounts:dev"), "{whoami}");
            ci.ok(&["get", "pods", "-n", "dev"]).await?;
            let refused = ci.fails(&["get", "pods", "-n", "default"], "").await?;
            ensure!(refused.contains("Error from server (Forbidden): pods is forbidden: User \"system:serviceaccount:dev:ci\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""), "{refused}");
            Ok(())
        },
    );
}
