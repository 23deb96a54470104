"""Forwards a pod's port with the official Kubernetes Python client's
`kubernetes.stream.portforward` (the WebSocket channel protocol, v4.channel.k8s.io).

Usage: portforward_check.py KUBECONFIG POD PORT

Sends one HTTP GET of /from-python through the forwarded socket, prints the answer, checks
the port's error channel stayed empty, and prints `OK` at the end; any failure raises.
"""

import sys

from kubernetes import client, config
from kubernetes.stream import portforward


def main(kubeconfig, pod, port):
    config.load_kube_config(config_file=kubeconfig)
    v1 = client.CoreV1Api()
    forward = portforward(
        v1.connect_get_namespaced_pod_portforward, pod, "default", ports=str(port)
    )
    sock = forward.socket(port)
    sock.settimeout(30)
    sock.sendall(b"GET /from-python HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n")
    answer = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    sock.close()
    text = answer.decode(errors="replace")
    print(text)
    assert text.startswith("HTTP/1.1 200"), text
    error = forward.error(port)
    assert error is None, f"the error channel said: {error}"
    print("OK")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
