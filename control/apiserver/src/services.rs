//! ClusterIP and NodePort allocation. Each allocated address or port is a key in the store,
//! created in the same transaction as the Service (or the update that starts to hold it) and
//! deleted in the same transaction as the Service (or the update that lets it go), so two
//! replicas can never hand out the same one: the loser's transaction fails and it picks again,
//! or, for a value the caller asked for, gets 422 "provided port is already allocated".

use std::collections::HashSet;
use std::net::Ipv4Addr;

use serde_json::Value;
use skiff_api::resources::ResourceInfo;
use skiff_api::status::{ApiError, FieldError};

use super::ApiServer;
use super::objects;
use super::service_fields::{IP_KEYS, PORT_KEYS, fill_random, in_service_net, node_ports};
use skiff_store::types::Op;

pub(crate) use super::service_fields::{allocation_keys, carry_allocations};

/// Tries with fresh random values before giving up (the ranges are nearly full).
const ATTEMPTS: usize = 16;

/// The allocation key named in a transaction failure ("a related record (<key>) changed").
fn clashing_key(e: &ApiError) -> Option<&str> {
    if e.reason != "Conflict" {
        return None;
    }
    let start = e.message.find("/registry/skiff/ranges/")?;
    let rest = &e.message[start..];
    Some(&rest[..rest.find(')').unwrap_or(rest.len())])
}

/// 422 for a ClusterIP or node port the caller asked for that another Service holds; `None`
/// when the clash was on a value picked here at random (pick again).
fn requested_clash(
    info: &ResourceInfo,
    svc: &Value,
    key: &str,
    requested_ip: Option<&str>,
    requested_ports: &HashSet<u64>,
) -> Option<ApiError> {
    let (_, name) = objects::namespace_and_name(svc);
    let cause = if let Some(ip) = key.strip_prefix(IP_KEYS) {
        (requested_ip == Some(ip)).then(|| {
            FieldError::invalid(
                "spec.clusterIPs",
                format!(
                    "Invalid value: []string{{\"{ip}\"}}: failed to allocate IP {ip}: provided IP is already allocated"
                ),
            )
        })?
    } else {
        let port: u64 = key.strip_prefix(PORT_KEYS)?.parse().ok()?;
        if !requested_ports.contains(&port) {
            return None;
        }
        let index = svc["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .position(|p| p["nodePort"].as_u64() == Some(port))
            .unwrap_or(0);
        FieldError::invalid(
            format!("spec.ports[{index}].nodePort"),
            format!("Invalid value: {port}: provided port is already allocated"),
        )
    };
    Some(ApiError::invalid(info.kind, info.group, &name, vec![cause]))
}

/// What one allocation attempt's store result means: the answer, or `None` when the write
/// clashed on a value picked at random (pick again). `requested` is the ClusterIP and node
/// ports the caller asked for.
fn settle_attempt(
    info: &ResourceInfo,
    result: Result<Value, ApiError>,
    candidate: &Value,
    (requested_ip, requested_ports): (Option<&str>, &HashSet<u64>),
) -> Option<Result<Value, ApiError>> {
    match result {
        Err(e) => match clashing_key(&e) {
            Some(key) => {
                requested_clash(info, candidate, key, requested_ip, requested_ports).map(Err)
            }
            None => Some(Err(e)),
        },
        ok => Some(ok),
    }
}

fn check_requested_ip(info: &ResourceInfo, svc: &Value) -> Result<Option<String>, ApiError> {
    let requested = svc["spec"]["clusterIP"]
        .as_str()
        .filter(|s| !s.is_empty() && *s != "None")
        .map(str::to_owned);
    if let Some(ip) = &requested
        && !ip.parse::<Ipv4Addr>().is_ok_and(in_service_net)
    {
        let (_, name) = objects::namespace_and_name(svc);
        let cause = FieldError::invalid(
            "spec.clusterIP",
            format!(
                "Invalid value: \"{ip}\": provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12"
            ),
        );
        return Err(ApiError::invalid(info.kind, info.group, &name, vec![cause]));
    }
    Ok(requested)
}

fn exhausted() -> ApiError {
    ApiError::internal("could not allocate a free ClusterIP or node port; the ranges may be full")
}

impl ApiServer {
    /// Creates a Service, allocating its ClusterIP and node ports atomically with it.
    pub async fn create_service(&self, info: &ResourceInfo, svc: Value) -> Result<Value, ApiError> {
        let (_, name) = objects::namespace_and_name(&svc);
        let requested_ip = check_requested_ip(info, &svc)?;
        let requested_ports = node_ports(&svc);
        for _ in 0..ATTEMPTS {
            let mut candidate = svc.clone();
            fill_random(&mut candidate);
            let extra: Vec<Op> = allocation_keys(&candidate)
                .into_iter()
                .map(|k| Op::create(k, name.clone()))
                .collect();
            let result = self.objects.create(info, candidate.clone(), extra).await;
            let requested = (requested_ip.as_deref(), &requested_ports);
            if let Some(answer) = settle_attempt(info, result, &candidate, requested) {
                return answer;
            }
        }
        Err(exhausted())
    }

    /// Replaces a Service whose stored revision must still be `expected`: node ports (and a
    /// ClusterIP, after a change from ExternalName) it newly holds are created and those it no
    /// longer holds are deleted in the same transaction, through the same clash handling as
    /// `create_service`. `new` has been through `carry_allocations` and validation.
    pub async fn update_service(
        &self,
        info: &ResourceInfo,
        current: &Value,
        new: Value,
        expected: u64,
    ) -> Result<Value, ApiError> {
        let (_, name) = objects::namespace_and_name(&new);
        let held: HashSet<String> = allocation_keys(current).into_iter().collect();
        let requested_ip = check_requested_ip(info, &new)?;
        // Only values the caller newly asks for can clash; those it keeps are its own.
        let requested_ports = node_ports(&new);
        for _ in 0..ATTEMPTS {
            let mut candidate = new.clone();
            fill_random(&mut candidate);
            let wanted: HashSet<String> = allocation_keys(&candidate).into_iter().collect();
            let mut extra: Vec<Op> = wanted
                .difference(&held)
                .map(|k| Op::create(k.clone(), name.clone()))
                .collect();
            extra.extend(held.difference(&wanted).map(|k| Op::delete(k.clone())));
            let result = self
                .objects
                .update(info, candidate.clone(), expected, extra)
                .await;
            let requested = (requested_ip.as_deref(), &requested_ports);
            if let Some(answer) = settle_attempt(info, result, &candidate, requested) {
                return answer;
            }
        }
        Err(exhausted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clashes_on_requested_values_are_invalid() {
        let info = skiff_api::resources::find("", "v1", "services").unwrap();
        let svc = serde_json::json!({"metadata": {"name": "web"}, "spec": {"type": "NodePort",
            "ports": [{"port": 80, "nodePort": 30001}, {"port": 81, "nodePort": 30080}]}});
        let conflict = ApiError::new(
            409,
            "Conflict",
            "services \"web\": a related record (/registry/skiff/ranges/nodeports/30080) changed concurrently; retry",
        );
        let key = clashing_key(&conflict).unwrap();
        assert_eq!(key, "/registry/skiff/ranges/nodeports/30080");
        let requested = HashSet::from([30080]);
        let e = requested_clash(info, &svc, key, None, &requested).unwrap();
        assert_eq!(e.code, 422);
        assert!(
            e.message.contains(
                "spec.ports[1].nodePort: Invalid value: 30080: provided port is already allocated"
            ),
            "{}",
            e.message
        );
        // A port drawn at random is drawn again instead.
        assert!(requested_clash(info, &svc, key, None, &HashSet::new()).is_none());
    }
}
