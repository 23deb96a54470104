// Services with their endpoints (EndpointSlices) and NodePorts, and nodes with their pods.
// Both pages are live watches.

import { collection, objectPath } from './api.js';
import { watchList } from './watch.js';
import { h, section, table, errorBox, fill, age, yamlLink } from './ui.js';
import { nodeReady } from './status.js';
import { podTable } from './pods.js';

export function renderServices(main, context) {
  const box = section('Services', 'services');
  main.append(box.element);
  let services = null;
  let slices = [];
  const draw = () => services && fill(box.body, serviceTable(services, slices));
  watchList(collection('discovery.k8s.io', 'v1', 'endpointslices', context.namespace), (items, error) => {
    slices = items || [];
    if (!error) draw();
  }, context.signal);
  watchList(collection('', 'v1', 'services', context.namespace), (items, error) => {
    if (error) return fill(box.body, errorBox(error));
    services = items;
    draw();
  }, context.signal);
}

/** `80:30080/TCP` or `80/TCP`, as kubectl's PORT(S) column. */
function ports(service) {
  return (service.spec?.ports || [])
    .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol || 'TCP'}`).join(', ');
}

/** The ready addresses of a Service's EndpointSlices: `10.244.0.5:8080`. */
function endpoints(service, slices) {
  const owned = slices.filter((s) => s.metadata.namespace === service.metadata.namespace
    && s.metadata.labels?.['kubernetes.io/service-name'] === service.metadata.name);
  const addresses = [];
  for (const slice of owned) {
    const port = slice.ports?.[0]?.port;
    for (const endpoint of slice.endpoints || []) {
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses || []) addresses.push(port ? `${address}:${port}` : address);
    }
  }
  return addresses.length ? addresses.join(', ') : '<none>';
}

function serviceTable(services, slices) {
  const sorted = [...services].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return table(['Name', 'Namespace', 'Type', 'Cluster IP', 'Ports', 'Endpoints', 'Age', ''], sorted.map((s) => [
    s.metadata.name, s.metadata.namespace, s.spec?.type || 'ClusterIP', s.spec?.clusterIP || '<none>', ports(s),
    endpoints(s, slices), age(s.metadata.creationTimestamp), yamlLink(objectPath('', 'v1', 'services', s)),
  ]), (i) => ({ 'data-name': `${sorted[i].metadata.namespace}/${sorted[i].metadata.name}` }));
}

export function renderNodes(main, context) {
  const box = section('Nodes', 'node-list');
  main.append(box.element);
  let nodes = null;
  let pods = [];
  let podError = null;
  const draw = () => nodes && fill(box.body, ...nodes.map((n) => nodeCard(n, pods, podError)));
  watchList(collection('', 'v1', 'pods', context.namespace), (items, error) => {
    pods = items || [];
    podError = error;
    draw();
  }, context.signal);
  watchList('/api/v1/nodes', (items, error) => {
    if (error) return fill(box.body, errorBox(error));
    nodes = items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    draw();
  }, context.signal);
}

function nodeCard(node, pods, podError) {
  const name = node.metadata.name;
  const ready = nodeReady(node);
  const info = node.status?.nodeInfo || {};
  const address = (node.status?.addresses || []).find((a) => a.type === 'InternalIP')?.address || '';
  const mine = pods.filter((p) => p.spec?.nodeName === name);
  return h('article', { class: 'card node', 'data-node': name },
    h('h3', {}, name, ' ', h('span', { class: `state ${ready}` }, ready), ' ', yamlLink(`/api/v1/nodes/${name}`)),
    h('p', { class: 'small muted' },
      `${address} · ${info.kubeletVersion || ''} · ${node.status?.capacity?.cpu || '?'} CPU · `,
      `${node.status?.capacity?.memory || '?'} memory · ${node.status?.capacity?.pods || '?'} pods max · age ${age(node.metadata.creationTimestamp)}`),
    podError ? errorBox(podError) : podTable(mine));
}
