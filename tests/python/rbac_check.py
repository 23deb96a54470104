"""RBAC with the official Kubernetes Python client (`pip install kubernetes`).

Usage: rbac_check.py ADMIN_KUBECONFIG

As the admin: a namespace pair, a ServiceAccount `reader` in `rbac-a`, a Role that reads pods
there and a RoleBinding of it to the account, then a TokenRequest token for the account. With
that token only: listing pods in `rbac-a` works; listing them in `rbac-b`, reading secrets
and creating a ConfigMap in `rbac-a` each raise ApiException 403 with Kubernetes' wording;
SelfSubjectAccessReview and SelfSubjectReview answer for the account.
Prints one line per check and `OK` at the end; any failure raises (non-zero exit).
"""

import json
import sys

from kubernetes import client, config
from kubernetes.client.rest import ApiException

A, B, SA = "rbac-a", "rbac-b", "reader"
USER = f"system:serviceaccount:{A}:{SA}"


def expect_forbidden(message, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except ApiException as e:
        assert e.status == 403, f"expected 403, got {e.status}: {e.body}"
        body = json.loads(e.body)
        assert body["reason"] == "Forbidden", body
        assert body["message"] == message, f"{body['message']!r} != {message!r}"
        print(f"403: {message}")
        return
    raise AssertionError(f"expected 403 ({message}), the call succeeded")


def set_up(admin):
    core = client.CoreV1Api(admin)
    rbac = client.RbacAuthorizationV1Api(admin)
    for ns in (A, B):
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    core.create_namespaced_service_account(A, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=SA)))
    rule = client.V1PolicyRule(api_groups=[""], resources=["pods"], verbs=["get", "list", "watch"])
    rbac.create_namespaced_role(A, client.V1Role(metadata=client.V1ObjectMeta(name="pod-reader"), rules=[rule]))
    subject = client.RbacV1Subject(kind="ServiceAccount", name=SA, namespace=A)
    ref = client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="pod-reader")
    binding = client.V1RoleBinding(metadata=client.V1ObjectMeta(name="reader-pods"), role_ref=ref, subjects=[subject])
    rbac.create_namespaced_role_binding(A, binding)
    roles = rbac.list_namespaced_role(A)
    assert [r.metadata.name for r in roles.items] == ["pod-reader"], roles
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=900))
    issued = core.create_namespaced_service_account_token(SA, A, request)
    assert issued.status.token and issued.status.expiration_timestamp, issued.status
    print("token issued")
    return issued.status.token


def as_account(admin_config, token):
    conf = client.Configuration()
    conf.host = admin_config.host
    conf.ssl_ca_cert = admin_config.ssl_ca_cert
    conf.verify_ssl = True
    conf.api_key = {"authorization": f"Bearer {token}"}
    return client.ApiClient(conf)


def main():
    admin_config = client.Configuration()
    config.load_kube_config(config_file=sys.argv[1], client_configuration=admin_config)
    admin = client.ApiClient(admin_config)
    token = set_up(admin)
    reader = as_account(admin_config, token)
    core = client.CoreV1Api(reader)
    pods = core.list_namespaced_pod(A)
    print(f"listed {len(pods.items)} pods in {A}")
    expect_forbidden(
        f'pods is forbidden: User "{USER}" cannot list resource "pods" in API group "" in the namespace "{B}"',
        core.list_namespaced_pod, B)
    expect_forbidden(
        f'secrets is forbidden: User "{USER}" cannot list resource "secrets" in API group "" in the namespace "{A}"',
        core.list_namespaced_secret, A)
    cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="nope"), data={"k": "v"})
    expect_forbidden(
        f'configmaps is forbidden: User "{USER}" cannot create resource "configmaps" in API group "" in the namespace "{A}"',
        core.create_namespaced_config_map, A, cm)
    authz = client.AuthorizationV1Api(reader)
    for verb, ns, allowed in (("list", A, True), ("delete", A, False), ("list", B, False)):
        attrs = client.V1ResourceAttributes(verb=verb, resource="pods", namespace=ns)
        review = authz.create_self_subject_access_review(
            client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attrs)))
        assert review.status.allowed == allowed, (verb, ns, review.status)
    print("self subject access reviews answered")
    me = client.AuthenticationV1Api(reader).create_self_subject_review(client.V1SelfSubjectReview())
    assert me.status.user_info.username == USER, me.status
    print(f"whoami: {me.status.user_info.username}")
    print("OK")


if __name__ == "__main__":
    main()
