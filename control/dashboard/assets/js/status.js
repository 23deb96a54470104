// What kubectl prints for objects, computed as kubectl computes it (printPod, the Ready
// columns of Deployments, DaemonSets and Jobs, a node's Ready condition).

/** A pod's STATUS column, as kubectl's `printPod`. */
export function podStatus(pod) {
  const status = pod.status || {};
  let reason = status.reason || status.phase || 'Pending';
  let initializing = false;
  const inits = status.initContainerStatuses || [];
  for (let i = 0; i < inits.length; i += 1) {
    const state = inits[i].state || {};
    if (state.terminated && state.terminated.exitCode === 0) continue;
    initializing = true;
    if (state.terminated) {
      const t = state.terminated;
      reason = t.reason ? `Init:${t.reason}` : t.signal ? `Init:Signal:${t.signal}` : `Init:ExitCode:${t.exitCode}`;
    } else if (state.waiting?.reason && state.waiting.reason !== 'PodInitializing') {
      reason = `Init:${state.waiting.reason}`;
    } else {
      reason = `Init:${i}/${(pod.spec.initContainers || []).length}`;
    }
    break;
  }
  if (!initializing) {
    let running = false;
    for (const container of [...(status.containerStatuses || [])].reverse()) {
      const state = container.state || {};
      if (state.waiting?.reason) reason = state.waiting.reason;
      else if (state.terminated?.reason) reason = state.terminated.reason;
      else if (state.terminated) {
        reason = state.terminated.signal ? `Signal:${state.terminated.signal}` : `ExitCode:${state.terminated.exitCode}`;
      } else if (container.ready && state.running) running = true;
    }
    if (reason === 'Completed' && running) reason = isReady(pod) ? 'Running' : 'NotReady';
  }
  if (pod.metadata.deletionTimestamp) reason = status.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

function isReady(pod) {
  return (pod.status?.conditions || []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The READY column: ready containers / containers. */
export function podReady(pod) {
  const statuses = pod.status?.containerStatuses || [];
  const ready = statuses.filter((c) => c.ready).length;
  return `${ready}/${(pod.spec?.containers || []).length}`;
}

/** The RESTARTS column. */
export function podRestarts(pod) {
  return (pod.status?.containerStatuses || []).reduce((n, c) => n + (c.restartCount || 0), 0);
}

/** Whether the node's Ready condition is True; 'Unknown' when it has none. */
export function nodeReady(node) {
  const ready = (node.status?.conditions || []).find((c) => c.type === 'Ready');
  if (!ready) return 'Unknown';
  return ready.status === 'True' ? 'Ready' : 'NotReady';
}

/** A Deployment's READY, UP-TO-DATE and AVAILABLE columns, and its Available condition. */
export function deploymentColumns(deployment) {
  const s = deployment.status || {};
  const available = (s.conditions || []).find((c) => c.type === 'Available');
  return {
    ready: `${s.readyReplicas || 0}/${deployment.spec?.replicas ?? 1}`,
    upToDate: s.updatedReplicas || 0,
    available: s.availableReplicas || 0,
    condition: available ? available.status : 'Unknown',
  };
}

/**
 * `kubectl rollout status` for a Deployment: [done, message], worded as kubectl words it.
 */
export function rolloutStatus(deployment) {
  const name = deployment.metadata.name;
  const s = deployment.status || {};
  const want = deployment.spec?.replicas ?? 1;
  if ((deployment.metadata.generation || 0) > (s.observedGeneration || 0)) {
    return [false, 'Waiting for deployment spec update to be observed...'];
  }
  const updated = s.updatedReplicas || 0;
  if (updated < want) {
    return [false, `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${want} new replicas have been updated...`];
  }
  if ((s.replicas || 0) > updated) {
    return [false, `Waiting for deployment "${name}" rollout to finish: ${(s.replicas || 0) - updated} old replicas are pending termination...`];
  }
  if ((s.availableReplicas || 0) < updated) {
    return [false, `Waiting for deployment "${name}" rollout to finish: ${s.availableReplicas || 0} of ${updated} updated replicas are available...`];
  }
  return [true, `deployment "${name}" successfully rolled out`];
}

/** Whether an Event is a warning. */
export function isWarning(event) {
  return event.type === 'Warning';
}

/** An Event's time: the newest of its timestamps. */
export function eventTime(event) {
  return event.lastTimestamp || event.eventTime || event.firstTimestamp || event.metadata.creationTimestamp;
}

/** CPU as kubectl top prints it (`12m`), from a metrics quantity (`12345n`, `12m`, `1`). */
export function cpuCores(quantity) {
  if (!quantity) return 0;
  const units = { n: 1e-9, u: 1e-6, m: 1e-3 };
  const unit = quantity.slice(-1);
  return units[unit] ? Number(quantity.slice(0, -1)) * units[unit] : Number(quantity);
}

/** Bytes from a memory quantity (`64Mi`, `1Gi`, `1000k`, `123`). */
export function memoryBytes(quantity) {
  if (!quantity) return 0;
  const match = /^([0-9.]+)([A-Za-z]*)$/.exec(quantity);
  if (!match) return 0;
  const scale = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12, '': 1 };
  return Number(match[1]) * (scale[match[2]] ?? 1);
}

export function formatCpu(cores) { return `${Math.round(cores * 1000)}m`; }
export function formatMemory(bytes) { return `${Math.round(bytes / 2 ** 20)}Mi`; }
