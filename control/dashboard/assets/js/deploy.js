// Deploy: upload a .wasm file to the built-in registry and run it as a Deployment (with a
// Service when it listens on a port), or paste YAML; either way the rollout is then watched
// live and reported as `kubectl rollout status` reports it. Objects are written with
// server-side apply, so deploying again updates them.

import { apply, collection } from './api.js';
import { watchObject, watchList } from './watch.js';
import { h, fill, say, errorBox } from './ui.js';
import { rolloutStatus, deploymentColumns } from './status.js';
import { podTable } from './pods.js';
import { pushWasm, repositoryName } from './registry.js';
import { documents, pathOf } from './yaml.js';

export function render(main, context) {
  const namespace = context.namespace || 'default';
  const notice = h('p', { class: 'notice', id: 'deploy-notice', role: 'status' });
  const rollout = h('div', { id: 'rollout' });
  let watching = null;
  const watch = (ns, name) => {
    if (watching) watching.abort();
    watching = new AbortController();
    context.signal.addEventListener('abort', () => watching.abort(), { once: true });
    followRollout(rollout, ns, name, watching.signal);
  };
  main.append(h('div', { class: 'grid two' }, wasmForm(namespace, notice, watch), yamlForm(namespace, notice, watch)),
    notice, rollout);
}

function field(label, input) {
  return h('label', {}, label, input);
}

function wasmForm(namespace, notice, watch) {
  const file = h('input', { type: 'file', id: 'wasm-file', accept: '.wasm,application/wasm', required: true });
  const name = h('input', { id: 'wasm-name', placeholder: 'from the file name', pattern: '[a-z0-9]([a-z0-9-]*[a-z0-9])?' });
  const tag = h('input', { id: 'wasm-tag', value: 'v1', required: true });
  const replicas = h('input', { id: 'wasm-replicas', type: 'number', min: 0, value: 1 });
  const port = h('input', { id: 'wasm-port', type: 'number', min: 1, max: 65535, placeholder: 'none' });
  file.addEventListener('change', () => {
    if (file.files[0] && !name.value) name.value = repositoryName(file.files[0].name);
  });
  const form = h('form', { class: 'card', id: 'wasm-form' }, h('h2', {}, 'Upload a .wasm'),
    field('File', file), field('Name', name), field('Tag', tag), field('Replicas', replicas),
    field('HTTP port (adds a Service and a readiness probe)', port),
    h('button', { type: 'submit', id: 'wasm-deploy' }, 'Upload and deploy'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const chosen = file.files[0];
      if (!chosen) throw new Error('choose a .wasm file first');
      const app = name.value || repositoryName(chosen.name);
      const bytes = new Uint8Array(await chosen.arrayBuffer());
      const image = await pushWasm(bytes, chosen.name, app, tag.value, (text) => say(notice, 'busy', text));
      const objects = workloadFor(app, namespace, image, Number(replicas.value || 1), Number(port.value || 0));
      for (const [path, object] of objects) await apply(path, JSON.stringify(object));
      say(notice, 'ok', `pushed ${image}; deployment.apps/${app} applied in ${namespace}`);
      watch(namespace, app);
    } catch (error) {
      say(notice, 'error', `Deploy failed: ${error.message}`);
    }
  });
  return form;
}

/** The Deployment (and Service) that run `image`: [path, object] pairs. */
function workloadFor(name, namespace, image, replicas, port) {
  const labels = { app: name };
  const container = { name, image };
  if (port) {
    container.ports = [{ containerPort: port }];
    container.readinessProbe = { httpGet: { path: '/', port }, periodSeconds: 2 };
  }
  const deployment = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, labels },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [container] } } },
  };
  const objects = [[`${collection('apps', 'v1', 'deployments', namespace)}/${name}`, deployment]];
  if (port) {
    const service = {
      apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, labels },
      spec: { selector: labels, ports: [{ port, targetPort: port, protocol: 'TCP' }] },
    };
    objects.push([`${collection('', 'v1', 'services', namespace)}/${name}`, service]);
  }
  return objects;
}

function yamlForm(namespace, notice, watch) {
  const text = h('textarea', { id: 'yaml-input', rows: 14, spellcheck: 'false', placeholder: 'apiVersion: apps/v1\nkind: Deployment\n...' });
  const form = h('form', { class: 'card', id: 'yaml-form' }, h('h2', {}, 'Paste YAML'), text,
    h('button', { type: 'submit', id: 'yaml-apply' }, 'Apply'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const applied = [];
    try {
      let deployment = null;
      for (const document of documents(text.value)) {
        const target = await pathOf(document, namespace);
        await apply(target.path, document);
        applied.push(`${target.plural}${target.group ? `.${target.group}` : ''}/${target.name}`);
        if (target.kind === 'Deployment') deployment = target;
      }
      if (!applied.length) throw new Error('there is no document to apply');
      say(notice, 'ok', `applied ${applied.join(', ')}`);
      if (deployment) watch(deployment.namespace, deployment.name);
    } catch (error) {
      const done = applied.length ? ` (applied before it: ${applied.join(', ')})` : '';
      say(notice, 'error', `Apply failed: ${error.message}${done}`);
    }
  });
  return form;
}

/** Shows the Deployment's rollout status and its pods until `signal` aborts. */
function followRollout(box, namespace, name, signal) {
  const status = h('p', { id: 'rollout-status', class: 'notice busy' }, `Waiting for deployment "${name}"...`);
  const pods = h('div', { id: 'rollout-pods' });
  fill(box, h('h2', {}, `Rollout of ${namespace}/${name}`), status, pods);
  let podsWatched = false;
  watchObject(collection('apps', 'v1', 'deployments', namespace), name, (deployment, error) => {
    if (error) return fill(status, errorBox(error));
    if (!deployment) return say(status, 'busy', `Waiting for deployment "${name}" to exist...`);
    const [done, message] = rolloutStatus(deployment);
    const { ready, condition } = deploymentColumns(deployment);
    say(status, done ? 'ok' : 'busy', `${message} (ready ${ready}, Available=${condition})`);
    status.dataset.available = condition;
    if (!podsWatched) {
      podsWatched = true;
      watchPods(pods, namespace, deployment.spec?.selector?.matchLabels || {}, signal);
    }
  }, signal);
}

/** The pods a Deployment's selector matches, live. */
function watchPods(box, namespace, matchLabels, signal) {
  const selector = Object.entries(matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
  const path = `${collection('', 'v1', 'pods', namespace)}?labelSelector=${encodeURIComponent(selector)}`;
  watchList(path, (items, error) => fill(box, error ? errorBox(error) : podTable(items)), signal);
}
