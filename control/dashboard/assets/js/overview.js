// Overview: nodes and their Ready state, CPU and memory charts from metrics.k8s.io (polled: the
// metrics API cannot be watched), pods by status with CrashLoopBackOff pods flagged, and the
// recent events with a warnings-only switch. Nodes, pods and events are live watches.

import { getJSON, collection } from './api.js';
import { watchList } from './watch.js';
import { h, section, table, errorBox, fill, age, sparkline } from './ui.js';
import {
  nodeReady, podStatus, isWarning, eventTime, cpuCores, memoryBytes, formatCpu, formatMemory,
} from './status.js';

const METRICS_EVERY_MS = 5000;
const HISTORY = 40;
const EVENTS_SHOWN = 25;

export function render(main, context) {
  const nodes = section('Nodes', 'nodes');
  const usage = section('CPU and memory', 'usage');
  const podsBox = section('Pods by status', 'pods-by-status');
  const warningsOnly = h('input', { type: 'checkbox', id: 'warnings-only' });
  const events = section('Recent events', 'events',
    h('label', { class: 'small' }, warningsOnly, ' warnings only'));
  main.append(h('div', { class: 'grid' }, nodes.element, usage.element, podsBox.element), events.element);

  let nodeList = [];
  watchList('/api/v1/nodes', (items, error) => {
    if (error) return fill(nodes.body, errorBox(error));
    nodeList = items;
    fill(nodes.body, table(['Node', 'Status', 'Age'], items.map((n) => [
      n.metadata.name, h('span', { class: `state ${nodeReady(n)}` }, nodeReady(n)), age(n.metadata.creationTimestamp),
    ]), (i) => ({ 'data-node': items[i].metadata.name, 'data-ready': nodeReady(items[i]) })));
  }, context.signal);

  watchList(collection('', 'v1', 'pods', context.namespace), (items, error) => {
    if (error) return fill(podsBox.body, errorBox(error));
    fill(podsBox.body, ...podSummary(items));
  }, context.signal);

  let eventList = [];
  const showEvents = () => fill(events.body, eventTable(eventList, warningsOnly.checked));
  warningsOnly.addEventListener('change', showEvents);
  watchList(collection('', 'v1', 'events', context.namespace), (items, error) => {
    if (error) return fill(events.body, errorBox(error));
    eventList = items;
    showEvents();
  }, context.signal);

  pollMetrics(usage.body, () => nodeList, context.signal);
}

/** Counts by kubectl's STATUS, and a flag per CrashLoopBackOff pod. */
function podSummary(pods) {
  const counts = new Map();
  const crashing = [];
  for (const pod of pods) {
    const status = podStatus(pod);
    counts.set(status, (counts.get(status) || 0) + 1);
    if (status === 'CrashLoopBackOff') crashing.push(pod);
  }
  const chips = [...counts.entries()].sort().map(([status, n]) =>
    h('span', { class: `chip state ${status}`, 'data-status': status }, `${status}: ${n}`));
  const flags = crashing.map((pod) => h('div', { class: 'flag crashloop', role: 'alert' },
    h('strong', {}, 'CrashLoopBackOff'), ' ',
    h('a', { href: `#/logs/${pod.metadata.namespace}/${pod.metadata.name}` },
      `${pod.metadata.namespace}/${pod.metadata.name}`),
    ` restarted ${(pod.status?.containerStatuses || []).reduce((n, c) => n + (c.restartCount || 0), 0)} times`));
  return [h('p', { class: 'total' }, `${pods.length} pods`), h('div', { class: 'chips' }, chips), ...flags];
}

function eventTable(events, warningsOnly) {
  const shown = events
    .filter((e) => !warningsOnly || isWarning(e))
    .sort((a, b) => Date.parse(eventTime(b)) - Date.parse(eventTime(a)))
    .slice(0, EVENTS_SHOWN);
  return table(['Age', 'Type', 'Reason', 'Object', 'Message'], shown.map((e) => [
    age(eventTime(e)), h('span', { class: `state ${e.type}` }, e.type), e.reason,
    `${(e.involvedObject?.kind || '').toLowerCase()}/${e.involvedObject?.name || ''}`, e.message,
  ]), (i) => ({ class: isWarning(shown[i]) ? 'warning' : undefined }));
}

/**
 * Polls NodeMetrics and draws each node's CPU and memory over the last few minutes (each
 * chart scaled to its own peak; the text gives the node's allocatable).
 */
function pollMetrics(body, nodes, signal) {
  const history = new Map();
  const tick = async () => {
    if (signal.aborted) return;
    try {
      const list = await getJSON('/apis/metrics.k8s.io/v1beta1/nodes', { signal });
      for (const m of list.items) {
        const points = history.get(m.metadata.name) || [];
        points.push({ cpu: cpuCores(m.usage.cpu), memory: memoryBytes(m.usage.memory) });
        history.set(m.metadata.name, points.slice(-HISTORY));
      }
      fill(body, usageTable(history, nodes()));
    } catch (error) {
      if (signal.aborted) return;
      fill(body, errorBox(error));
      if (error.status === 403 || error.status === 401) return;
    }
    setTimeout(tick, METRICS_EVERY_MS);
  };
  tick();
}

function usageTable(history, nodes) {
  const capacity = new Map(nodes.map((n) => [n.metadata.name, n.status?.allocatable || n.status?.capacity || {}]));
  const rows = [...history.entries()].map(([name, points]) => {
    const last = points[points.length - 1];
    const cap = capacity.get(name) || {};
    const cpuMax = cpuCores(cap.cpu);
    const memoryMax = memoryBytes(cap.memory);
    return [
      name,
      h('div', { class: 'metric' }, sparkline(points.map((p) => p.cpu), 0, `CPU of ${name}`),
        `${formatCpu(last.cpu)}${cpuMax ? ` of ${formatCpu(cpuMax)}` : ''}`),
      h('div', { class: 'metric' }, sparkline(points.map((p) => p.memory), 0, `memory of ${name}`),
        `${formatMemory(last.memory)}${memoryMax ? ` of ${formatMemory(memoryMax)}` : ''}`),
    ];
  });
  return table(['Node', 'CPU', 'Memory'], rows);
}
