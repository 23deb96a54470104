//! The replicas as the control plane names them: the `default/kubernetes` Endpoints, which
//! every replica writes from the Raft membership (kube-apiserver's endpoint reconciler).
//! [`ReplicaFollower`] watches them and keeps the agent's [`Replicas`], its tunnels and its
//! saved credential in step, so an agent that joined through one replica learns the others,
//! and a restarted agent starts with the list it last saw.
//!
//! The URL the agent was given first (the one it joined through) stays in the list, last,
//! when the Endpoints do not name it, as k3s' agent load balancer keeps its default server:
//! replicas may advertise addresses this node cannot reach.

use super::Replicas;
use crate::credential::Credential;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Endpoints;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use std::net::IpAddr;
use std::path::PathBuf;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// `https://<ip>:<port>` for every address and port of `endpoints`, in their order.
pub fn urls(endpoints: &Endpoints) -> Vec<String> {
    let mut urls = Vec::new();
    for subset in endpoints.subsets.iter().flatten() {
        for port in subset.ports.iter().flatten() {
            let Ok(port) = u16::try_from(port.port) else {
                continue;
            };
            for address in subset.addresses.iter().flatten() {
                let url = match address.ip.parse::<IpAddr>() {
                    Ok(IpAddr::V4(ip)) => format!("https://{ip}:{port}"),
                    Ok(IpAddr::V6(ip)) => format!("https://[{ip}]:{port}"),
                    Err(_) => continue,
                };
                if !urls.contains(&url) {
                    urls.push(url);
                }
            }
        }
    }
    urls
}

/// The list to use: the Endpoints' URLs, then `fallback` if they do not name it. Empty
/// when the Endpoints name no replica (the list in use is then kept).
pub fn with_fallback(mut urls: Vec<String>, fallback: Option<&str>) -> Vec<String> {
    if let Some(fallback) = fallback
        && !urls.is_empty()
        && !urls.iter().any(|u| u == fallback)
    {
        urls.push(fallback.to_owned());
    }
    urls
}

/// Keeps the agent's view of the replicas current.
pub struct ReplicaFollower {
    pub client: Client,
    pub replicas: Replicas,
    /// The URL kept when the Endpoints leave it out (the credential's first).
    pub fallback: Option<String>,
    /// Where the tunnels read the list.
    pub publish: watch::Sender<Vec<String>>,
    /// The credential to save again with the new list, and its data directory (`None`
    /// when the credential was handed in and is not kept on disk).
    pub save: Option<(PathBuf, Credential)>,
}

impl ReplicaFollower {
    /// Follows the Endpoints until `cancel` fires.
    pub async fn run(mut self, cancel: CancellationToken) {
        let api: Api<Endpoints> = Api::namespaced(self.client.clone(), "default");
        let config = watcher::Config::default().fields("metadata.name=kubernetes");
        let events = watcher(api, config).default_backoff().applied_objects();
        let mut events = std::pin::pin!(events);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                event = events.next() => match event {
                    Some(Ok(endpoints)) => self.follow(&endpoints),
                    Some(Err(e)) => tracing::debug!(error = %e, "watching the kubernetes Endpoints"),
                    None => return,
                },
            }
        }
    }

    fn follow(&mut self, endpoints: &Endpoints) {
        let wanted = with_fallback(urls(endpoints), self.fallback.as_deref());
        if wanted.is_empty() || wanted == self.replicas.urls() {
            return;
        }
        if let Err(e) = self.replicas.set(&wanted) {
            tracing::warn!(error = %e, "ignoring the control plane's replica list {wanted:?}");
            return;
        }
        tracing::info!(replicas = ?wanted, current = %self.replicas.current(), "control-plane replicas changed");
        self.publish.send_replace(wanted.clone());
        if let Some((dir, credential)) = &mut self.save {
            credential.servers = wanted;
            if let Err(e) = credential.save(dir) {
                tracing::warn!(error = %e, "saving the new replica list");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn endpoints_become_replica_urls() {
        // (Endpoints subsets, fallback, the list used)
        let table = [
            (json!([]), Some("https://10.0.0.9:6443"), vec![]),
            (
                json!([{"addresses": [{"ip": "127.0.0.1"}, {"ip": "127.0.0.2"}],
                        "ports": [{"name": "https", "port": 7000}]},
                       {"addresses": [{"ip": "::1"}], "ports": [{"port": 7001}]}]),
                Some("https://127.0.0.2:7000"),
                vec![
                    "https://127.0.0.1:7000",
                    "https://127.0.0.2:7000",
                    "https://[::1]:7001",
                ],
            ),
            (
                json!([{"addresses": [{"ip": "127.0.0.1"}, {"ip": "not-an-ip"}],
                        "ports": [{"port": 7000}, {"port": 70000}]}]),
                Some("https://public.example:443"),
                vec!["https://127.0.0.1:7000", "https://public.example:443"],
            ),
            (
                json!([{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 7000}]}]),
                None,
                vec!["https://127.0.0.1:7000"],
            ),
        ];
        for (subsets, fallback, want) in table {
            let endpoints: Endpoints = serde_json::from_value(json!({
                "metadata": {"name": "kubernetes", "namespace": "default"},
                "subsets": subsets,
            }))
            .unwrap();
            let got = with_fallback(urls(&endpoints), fallback);
            assert_eq!(got, want, "{subsets}");
        }
    }
}
