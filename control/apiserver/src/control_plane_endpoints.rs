//! The `default/kubernetes` Service and its Endpoints and EndpointSlice, which name every
//! control-plane replica (kube-apiserver's endpoint reconciler). Agents learn the replicas
//! from them to move to another when theirs dies. The addresses come from the Raft
//! membership, so every replica computes the same answer; any replica may write it, and a
//! write happens only when the stored objects differ.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use skiff_api::status::ApiError;
use skiff_replica::ops::Consistency;

use super::ApiServer;
use super::request::{Query, ResourceRequest, Verb};

/// How often a replica checks the objects against the membership.
const RECONCILE_EVERY: Duration = Duration::from_secs(10);
/// The Service's cluster IP: the first address of the service range, as Kubernetes.
const SERVICE_IP: &str = "10.96.0.1";

/// (host, port) of a replica URL like `https://127.0.0.1:6443` (`None` if it has no IP host).
fn ip_and_port(url: &str) -> Option<(String, u16)> {
    let authority = url
        .split_once("://")
        .map_or(url, |(_, r)| r)
        .split('/')
        .next()?;
    let (host, port) = authority.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.parse::<std::net::IpAddr>().ok()?;
    Some((host.to_owned(), port.parse().ok()?))
}

/// The Endpoints subsets for these replica URLs: one subset per port, addresses sorted.
pub(crate) fn subsets(urls: &[String]) -> Vec<Value> {
    let mut by_port: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    for (ip, port) in urls.iter().filter_map(|u| ip_and_port(u)) {
        by_port.entry(port).or_default().push(ip);
    }
    by_port
        .into_iter()
        .map(|(port, mut ips)| {
            ips.sort();
            ips.dedup();
            let addresses: Vec<Value> = ips.iter().map(|ip| json!({"ip": ip})).collect();
            json!({"addresses": addresses,
                   "ports": [{"name": "https", "port": port, "protocol": "TCP"}]})
        })
        .collect()
}

/// The EndpointSlice endpoints and port for these subsets (one slice; when replicas listen
/// on different ports the slice carries the first port's, as a slice has one port list).
fn slice(subsets: &[Value]) -> Value {
    let endpoints: Vec<Value> = subsets
        .iter()
        .flat_map(|s| s["addresses"].as_array().cloned().unwrap_or_default())
        .map(|a| json!({"addresses": [a["ip"]], "conditions": {"ready": true}}))
        .collect();
    let port = subsets
        .first()
        .map_or(json!(443), |s| s["ports"][0]["port"].clone());
    json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "kubernetes",
                                "endpointslice.kubernetes.io/managed-by": "skiff-apiserver"}},
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    })
}

fn request(
    group: &str,
    version: &str,
    plural: &str,
    verb: Verb,
    name: Option<&str>,
) -> ResourceRequest {
    ResourceRequest {
        verb,
        info: skiff_api::resources::find(group, version, plural).expect("a served resource"),
        namespace: Some("default".into()),
        name: name.map(str::to_owned),
        subresource: None,
        query: Query::default(),
    }
}

impl ApiServer {
    /// Keeps the objects in step with the membership until shutdown.
    pub async fn run_control_plane_endpoints(&self) {
        loop {
            if let Err(e) = self.reconcile_control_plane_endpoints().await {
                tracing::debug!("the kubernetes Service's endpoints: {e}");
            }
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = tokio::time::sleep(RECONCILE_EVERY) => {}
            }
        }
    }

    async fn reconcile_control_plane_endpoints(&self) -> Result<(), ApiError> {
        let urls: Vec<String> = self
            .objects
            .replica
            .members()
            .into_iter()
            .map(|m| m.1)
            .collect();
        let subsets = subsets(&urls);
        let Some(port) = subsets.first().map(|s| s["ports"][0]["port"].clone()) else {
            return Ok(());
        };
        let service = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": SERVICE_IP,
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]},
        });
        self.ensure_exists(request("", "v1", "services", Verb::Create, None), service)
            .await?;
        let endpoints = json!({
            "apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "kubernetes", "namespace": "default"},
            "subsets": subsets,
        });
        self.put_if_changed(("", "v1", "endpoints"), endpoints, "subsets")
            .await?;
        let slice = slice(&subsets);
        self.put_if_changed(
            ("discovery.k8s.io", "v1", "endpointslices"),
            slice,
            "endpoints",
        )
        .await
    }

    async fn ensure_exists(&self, create: ResourceRequest, obj: Value) -> Result<(), ApiError> {
        match self.create(&create, obj).await {
            Err(e) if e.reason != "AlreadyExists" => Err(e),
            _ => Ok(()),
        }
    }

    /// Creates `want`, or replaces the stored object when its `field` differs.
    async fn put_if_changed(
        &self,
        (group, version, plural): (&str, &str, &str),
        want: Value,
        field: &str,
    ) -> Result<(), ApiError> {
        let info = skiff_api::resources::find(group, version, plural).expect("a served resource");
        let current = self
            .objects
            .get(
                info,
                Some("default"),
                "kubernetes",
                Consistency::Linearizable,
            )
            .await?;
        let Some(mut current) = current else {
            return self
                .ensure_exists(request(group, version, plural, Verb::Create, None), want)
                .await;
        };
        if current[field] == want[field]
            && (field != "endpoints" || current["ports"] == want["ports"])
        {
            return Ok(());
        }
        current[field] = want[field].clone();
        current["ports"] = want["ports"].clone();
        if field == "subsets" {
            current.as_object_mut().map(|o| o.remove("ports"));
        }
        let update = request(group, version, plural, Verb::Update, Some("kubernetes"));
        self.update(&update, current).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_group_replicas_by_port() {
        let urls = [
            "https://127.0.0.3:7000".to_owned(),
            "https://127.0.0.1:7000".to_owned(),
            "https://127.0.0.2:7001".to_owned(),
            "https://replica.example:7002".to_owned(),
        ];
        let want = json!([
            {"addresses": [{"ip": "127.0.0.1"}, {"ip": "127.0.0.3"}],
             "ports": [{"name": "https", "port": 7000, "protocol": "TCP"}]},
            {"addresses": [{"ip": "127.0.0.2"}],
             "ports": [{"name": "https", "port": 7001, "protocol": "TCP"}]},
        ]);
        assert_eq!(Value::Array(subsets(&urls)), want);
        assert_eq!(
            ip_and_port("https://[::1]:6443"),
            Some(("::1".into(), 6443))
        );
    }
}
