//! Replacing old daemon pods (`rollingUpdate` and the surge half of `podsShouldBeOnNode`):
//! with maxSurge 0, old pods are deleted while no more than maxUnavailable nodes lack an
//! available pod (unavailable old pods always); with maxSurge, a new pod starts beside the
//! old one on up to maxSurge nodes at a time and the old one goes once the new is available.
//! OnDelete replaces nothing. Nodes are taken in name order (kube's map order is random).

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Sync, pod_name, revision_of};
use crate::Error;
use crate::common::{is_pod_available, is_pod_ready, is_terminating, scaled_value};

/// maxSurge and maxUnavailable against the nodes that should run a pod; `None` for OnDelete.
fn limits(sync: &Sync) -> Result<Option<(i32, i32)>, Error> {
    let strategy = sync
        .ds
        .spec
        .as_ref()
        .and_then(|s| s.update_strategy.clone());
    let strategy = strategy.unwrap_or_default();
    if strategy.type_.as_deref() == Some("OnDelete") {
        return Ok(None);
    }
    let rolling = strategy.rolling_update.unwrap_or_default();
    let desired =
        i32::try_from(sync.nodes.iter().filter(|(_, f)| f.should_run).count()).unwrap_or(i32::MAX);
    let surge = rolling.max_surge.unwrap_or(IntOrString::Int(0));
    let unavailable = rolling.max_unavailable.unwrap_or(IntOrString::Int(1));
    let surge = scaled_value(&surge, desired, true)?;
    let mut unavailable = scaled_value(&unavailable, desired, true)?;
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    Ok(Some((surge, unavailable)))
}

fn is_new(sync: &Sync, p: &Pod) -> bool {
    revision_of(p) == Some(sync.hash.as_str())
}

fn available(sync: &Sync, p: &Pod) -> bool {
    let min = sync
        .ds
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    is_pod_available(p, min, sync.now)
}

/// The live new and old pod of a node, or `None` if it has more than one of either.
fn new_and_old<'a>(sync: &Sync, pods: &[&'a Pod]) -> Option<(Option<&'a Pod>, Option<&'a Pod>)> {
    let (mut new, mut old) = (None, None);
    for p in pods
        .iter()
        .copied()
        .filter(|p| !is_terminating(&p.metadata))
    {
        let slot = if is_new(sync, p) { &mut new } else { &mut old };
        if slot.replace(p).is_some() {
            return None;
        }
    }
    Some((new, old))
}

/// The nodes to surge onto and the old pods to delete, leaving alone the nodes `manage`
/// already acts on (`creating` nodes, pods in `deleting`).
pub(super) fn update(
    sync: &Sync,
    creating: &[String],
    deleting: &[String],
) -> Result<(Vec<String>, Vec<String>), Error> {
    let Some((max_surge, max_unavailable)) = limits(sync)? else {
        return Ok((Vec::new(), Vec::new()));
    };
    let mut nodes = Vec::new();
    for (node, fit) in sync.nodes.iter().filter(|(_, f)| f.should_continue) {
        let name = node.metadata.name.clone().unwrap_or_default();
        // What stays of the node's pods once `manage` is done (a node it creates on has none).
        let mut pods = sync.by_node.get(&name).cloned().unwrap_or_default();
        if pods.is_empty() && !fit.should_run {
            // A node that is to have no pod (a NoSchedule taint) is not part of the rollout.
            continue;
        }
        if creating.contains(&name) {
            pods.clear();
        }
        pods.retain(|p| !deleting.contains(&pod_name(p)));
        nodes.push((name, new_and_old(sync, &pods)));
    }
    if max_surge == 0 {
        Ok((Vec::new(), without_surge(sync, &nodes, max_unavailable)))
    } else {
        Ok(with_surge(sync, &nodes, max_surge))
    }
}

/// A node and its live (new, old) pods; `None` when it has more than one of either.
type NodePods<'a> = (String, Option<(Option<&'a Pod>, Option<&'a Pod>)>);

fn without_surge(sync: &Sync, nodes: &[NodePods], max_unavailable: i32) -> Vec<String> {
    let (mut unavailable, mut always, mut candidates) = (0, Vec::new(), Vec::new());
    for (_, pods) in nodes {
        match pods {
            None | Some((None, None) | (Some(_), Some(_))) => unavailable += 1,
            Some((Some(new), None)) => unavailable += i32::from(!available(sync, new)),
            Some((None, Some(old))) if !available(sync, old) => always.push(pod_name(old)),
            Some((None, Some(_))) if unavailable >= max_unavailable => {}
            Some((None, Some(old))) => candidates.push(pod_name(old)),
        }
    }
    let room = usize::try_from((max_unavailable - unavailable).max(0)).unwrap_or(0);
    always.extend(candidates.into_iter().take(room));
    always
}

fn with_surge(sync: &Sync, nodes: &[NodePods], max_surge: i32) -> (Vec<String>, Vec<String>) {
    let (mut surging, mut always, mut candidates, mut old_done) =
        (0, Vec::new(), Vec::new(), Vec::new());
    for (name, pods) in nodes {
        match pods {
            None => surging += 1,
            Some((_, None)) => {}
            Some((None, Some(old))) if !available(sync, old) => always.push(name.clone()),
            Some((None, Some(_))) if surging >= max_surge => {}
            Some((None, Some(_))) => candidates.push(name.clone()),
            Some((Some(new), Some(_))) if !available(sync, new) => surging += 1,
            Some((Some(_), Some(old))) => old_done.push(pod_name(old)),
        }
    }
    let room = usize::try_from((max_surge - surging).max(0)).unwrap_or(0);
    always.extend(candidates.into_iter().take(room));
    (always, old_done)
}

/// Extra running pods on one node (`podsShouldBeOnNode`): without surge all but the oldest
/// go; with surge an old and a new pod may share a node only while the new one is not ready
/// and the old one is, otherwise the new one (or the oldest) stays.
pub(super) fn extra_pods(sync: &Sync, running: &[&Pod]) -> Vec<String> {
    if running.len() <= 1 {
        return Vec::new();
    }
    let surge = matches!(limits(sync), Ok(Some((s, _))) if s > 0);
    let keep: Vec<&Pod> = if !surge {
        running.iter().copied().take(1).collect()
    } else {
        let new = running.iter().copied().find(|p| is_new(sync, p));
        let old = running.iter().copied().find(|p| !is_new(sync, p));
        match (new, old) {
            (Some(n), Some(o)) if !is_pod_ready(n) && is_pod_ready(o) => vec![n, o],
            (Some(n), _) => vec![n],
            (None, o) => o.into_iter().collect(),
        }
    };
    running
        .iter()
        .filter(|p| !keep.iter().any(|k| std::ptr::eq(*k, **p)))
        .map(|p| pod_name(p))
        .collect()
}
