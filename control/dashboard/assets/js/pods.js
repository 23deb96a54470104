// Pods: kubectl's columns (Ready, Status, Restarts, Node, IP, Age), live; and the logs view,
// which follows a container's log (`?follow=true`) as `kubectl logs -f` does.

import { collection, objectPath, request, getJSON } from './api.js';
import { watchList } from './watch.js';
import { h, section, table, errorBox, fill, age, yamlLink } from './ui.js';
import { podStatus, podReady, podRestarts } from './status.js';

const TAIL_LINES = 500;
/** Lines kept on the page: a chatty container must not grow it without bound. */
const KEEP_LINES = 5000;

export function render(main, context) {
  const box = section('Pods', 'pods');
  main.append(box.element);
  watchList(collection('', 'v1', 'pods', context.namespace), (items, error) => {
    if (error) return fill(box.body, errorBox(error));
    fill(box.body, podTable(items));
  }, context.signal);
}

/** The pods table; also used by the Nodes page for the pods of each node. */
export function podTable(pods) {
  const sorted = [...pods].sort((a, b) =>
    `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  const rows = sorted.map((pod) => {
    const status = podStatus(pod);
    const { namespace, name } = pod.metadata;
    return [name, namespace, podReady(pod), h('span', { class: `state ${status}` }, status), podRestarts(pod),
      pod.spec?.nodeName || '<none>', pod.status?.podIP || '<none>', age(pod.metadata.creationTimestamp),
      h('span', { class: 'actions' },
        h('a', { href: `#/logs/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`, class: 'small' }, 'Logs'),
        yamlLink(objectPath('', 'v1', 'pods', pod)))];
  });
  return table(['Name', 'Namespace', 'Ready', 'Status', 'Restarts', 'Node', 'IP', 'Age', ''], rows,
    (i) => ({ 'data-pod': `${sorted[i].metadata.namespace}/${sorted[i].metadata.name}`, 'data-status': podStatus(sorted[i]) }));
}

/** `#/logs/NS/POD[/CONTAINER]`: the container's log, followed until the user leaves. */
export async function renderLogs(main, context) {
  const [namespace, name, chosen] = context.args;
  const podPath = `${collection('', 'v1', 'pods', namespace)}/${encodeURIComponent(name)}`;
  const pod = await getJSON(podPath, { signal: context.signal });
  const containers = (pod.spec.containers || []).map((c) => c.name);
  const container = chosen || containers[0];
  const picker = h('select', { 'aria-label': 'container' }, containers.map((c) => h('option', { value: c }, c)));
  picker.value = container;
  picker.addEventListener('change', () => { location.hash = `#/logs/${namespace}/${name}/${picker.value}`; });
  const state = h('span', { class: 'small muted', id: 'log-state' }, 'connecting…');
  const output = h('pre', { class: 'logs', id: 'logs' });
  main.append(h('header', { class: 'row start' }, h('h2', {}, `Logs of ${namespace}/${name}`), picker, state,
    yamlLink(podPath)), output);
  const query = `container=${encodeURIComponent(container)}&follow=true&tailLines=${TAIL_LINES}`;
  try {
    const response = await request('GET', `${podPath}/log?${query}`, { signal: context.signal });
    state.textContent = 'following';
    await streamInto(response, output);
    state.textContent = 'the log ended (the container stopped)';
  } catch (error) {
    if (context.signal.aborted) return;
    state.textContent = '';
    main.append(errorBox(error));
  }
}

/** Appends the streamed text to `output`, keeping the view at the bottom if it was there. */
async function streamInto(response, output) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const atBottom = output.scrollTop + output.clientHeight >= output.scrollHeight - 4;
    output.append(document.createTextNode(decoder.decode(value, { stream: true })));
    while (output.childNodes.length > KEEP_LINES) output.firstChild.remove();
    if (atBottom) output.scrollTop = output.scrollHeight;
  }
}
