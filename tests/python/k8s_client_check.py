"""Drives a skiff replica with the official Kubernetes Python client (`pip install kubernetes`).

Usage: k8s_client_check.py KUBECONFIG crud|expired

crud:    ConfigMap and Deployment create/read/update/patch/delete, list then watch (ADDED and
         MODIFIED seen), 409 Conflict on an update with a stale resourceVersion.
expired: writes more revisions than the server keeps (it runs with --history-revisions 10),
         then watches from the first one: the client must raise ApiException(410).
Prints one line per check and `OK` at the end; any failure raises (non-zero exit).
"""

import functools
import sys
import threading
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

NS = "default"


def expect_api_error(status, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except ApiException as e:
        assert e.status == status, f"expected {status}, got {e.status}: {e.body}"
        return e
    raise AssertionError(f"expected ApiException {status}, the call succeeded")


def configmap(name, value):
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels={"suite": "py"}), data={"key": value}
    )


def crud_configmap(v1):
    created = v1.create_namespaced_config_map(NS, configmap("py-cm", "one"))
    assert created.metadata.resource_version, created
    got = v1.read_namespaced_config_map("py-cm", NS)
    assert got.data == {"key": "one"}, got.data
    got.data["key"] = "two"
    replaced = v1.replace_namespaced_config_map("py-cm", NS, got)
    assert replaced.data["key"] == "two"
    patched = v1.patch_namespaced_config_map("py-cm", NS, {"data": {"other": "x"}})
    assert patched.data == {"key": "two", "other": "x"}, patched.data
    listed = v1.list_namespaced_config_map(NS, label_selector="suite=py")
    assert [c.metadata.name for c in listed.items] == ["py-cm"], listed.items

    # 409: replace with the object as read before the patch.
    stale = replaced
    stale.data["key"] = "stale"
    e = expect_api_error(409, v1.replace_namespaced_config_map, "py-cm", NS, stale)
    assert '"reason":"Conflict"' in e.body.replace(" ", ""), e.body
    print("configmap: create/read/replace/patch/list, 409 on a stale replace")

    v1.delete_namespaced_config_map("py-cm", NS)
    expect_api_error(404, v1.read_namespaced_config_map, "py-cm", NS)
    print("configmap: delete, then 404")


def replace_image(apps, image):
    """Read-modify-replace of the Deployment's image, again on a 409: the deployment
    controller writes the object's status between the read and the replace, as it does on
    Kubernetes, so a client that replaces must retry on a conflict."""
    for _ in range(10):
        got = apps.read_namespaced_deployment("py-web", NS)
        assert got.spec.replicas == 2, got.spec
        got.spec.template.spec.containers[0].image = image
        try:
            return apps.replace_namespaced_deployment("py-web", NS, got)
        except ApiException as e:
            if e.status != 409:
                raise
    raise AssertionError("replace kept conflicting")


def crud_deployment(apps):
    container = client.V1Container(name="app", image="app.wasm")
    body = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="py-web"),
        spec=client.V1DeploymentSpec(
            replicas=1,
            selector=client.V1LabelSelector(match_labels={"app": "py-web"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "py-web"}),
                spec=client.V1PodSpec(containers=[container]),
            ),
        ),
    )
    created = apps.create_namespaced_deployment(NS, body)
    assert created.metadata.generation == 1, created.metadata
    patched = apps.patch_namespaced_deployment("py-web", NS, {"spec": {"replicas": 3}})
    assert patched.spec.replicas == 3 and patched.metadata.generation == 2, patched.metadata
    scale = apps.read_namespaced_deployment_scale("py-web", NS)
    assert scale.spec.replicas == 3, scale
    apps.patch_namespaced_deployment_scale("py-web", NS, {"spec": {"replicas": 2}})
    replaced = replace_image(apps, "app2.wasm")
    assert replaced.spec.template.spec.containers[0].image == "app2.wasm"
    names = [d.metadata.name for d in apps.list_namespaced_deployment(NS).items]
    assert "py-web" in names, names
    apps.delete_namespaced_deployment("py-web", NS)
    expect_api_error(404, apps.read_namespaced_deployment, "py-web", NS)
    print("deployment: create/patch/scale/replace/list/delete")


def list_then_watch(v1):
    listed = v1.list_namespaced_config_map(NS)
    rv = listed.metadata.resource_version
    assert rv, listed.metadata

    def writer():
        time.sleep(0.5)
        v1.create_namespaced_config_map(NS, configmap("py-watched", "a"))
        v1.patch_namespaced_config_map("py-watched", NS, {"data": {"key": "b"}})

    thread = threading.Thread(target=writer)
    thread.start()
    seen = []
    w = watch.Watch()
    for event in w.stream(
        v1.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=20
    ):
        obj = event["object"]
        seen.append((event["type"], obj.metadata.name, obj.data))
        if ("MODIFIED", "py-watched", {"key": "b"}) in seen:
            w.stop()
    thread.join()
    assert ("ADDED", "py-watched", {"key": "a"}) in seen, seen
    assert ("MODIFIED", "py-watched", {"key": "b"}) in seen, seen
    print(f"watch from list resourceVersion {rv}: {[(t, n) for t, n, _ in seen]}")


def expired(v1):
    first = v1.create_namespaced_config_map(NS, configmap("py-hist", "0"))
    old_rv = first.metadata.resource_version
    for i in range(1, 26):
        v1.patch_namespaced_config_map("py-hist", NS, {"data": {"key": str(i)}})
    calls = []

    @functools.wraps(v1.list_namespaced_config_map)
    def counted(*args, **kwargs):
        calls.append(kwargs.get("resource_version"))
        return v1.list_namespaced_config_map(*args, **kwargs)

    # The compactor runs every 5 s: watch from the first revision until it is gone.
    deadline = time.monotonic() + 20
    while True:
        calls.clear()
        try:
            for _ in watch.Watch().stream(
                counted, NS, resource_version=old_rv, timeout_seconds=1
            ):
                pass
        except ApiException as e:
            assert e.status == 410, f"expected 410, got {e.status}: {e.reason} {e.body}"
            assert calls == [old_rv], calls  # with timeout_seconds the client does not retry
            break
        assert time.monotonic() < deadline, f"resourceVersion {old_rv} never expired"
        time.sleep(0.5)
    # Without timeout_seconds the client retries once from the same resourceVersion, then raises.
    calls.clear()
    try:
        for _ in watch.Watch().stream(counted, NS, resource_version=old_rv):
            pass
        raise AssertionError("a watch from a compacted resourceVersion ended without an error")
    except ApiException as e:
        assert e.status == 410, f"expected 410, got {e.status}: {e.reason} {e.body}"
        assert calls == [old_rv, old_rv], f"expected one retry, got requests at {calls}"
        print(f"watch from compacted {old_rv}: ApiException 410 ({e.reason}) "
              f"after {len(calls)} requests (one retry)")


def main():
    kubeconfig, mode = sys.argv[1], sys.argv[2]
    config.load_kube_config(config_file=kubeconfig)
    v1 = client.CoreV1Api()
    if mode == "crud":
        crud_configmap(v1)
        crud_deployment(client.AppsV1Api())
        list_then_watch(v1)
    elif mode == "expired":
        expired(v1)
    else:
        raise SystemExit(f"unknown mode {mode}")
    print("OK")


if __name__ == "__main__":
    main()
