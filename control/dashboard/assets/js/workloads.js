// Workloads: Deployments, DaemonSets, Jobs and CronJobs with their ready counts, live. Scale
// (a merge patch of spec.replicas, as `kubectl scale`) and restart (the pod template's
// `kubectl.kubernetes.io/restartedAt` annotation, as `kubectl rollout restart`).

import { collection, objectPath, mergePatch } from './api.js';
import { watchList } from './watch.js';
import { h, section, table, errorBox, fill, age, yamlLink, say } from './ui.js';
import { deploymentColumns } from './status.js';

const KINDS = [
  { title: 'Deployments', id: 'deployments', group: 'apps', plural: 'deployments', rows: deploymentRow,
    columns: ['Name', 'Namespace', 'Ready', 'Up-to-date', 'Available', 'Age', ''] },
  { title: 'DaemonSets', id: 'daemonsets', group: 'apps', plural: 'daemonsets', rows: daemonSetRow,
    columns: ['Name', 'Namespace', 'Desired', 'Current', 'Ready', 'Age', ''] },
  { title: 'Jobs', id: 'jobs', group: 'batch', plural: 'jobs', rows: jobRow,
    columns: ['Name', 'Namespace', 'Status', 'Completions', 'Age', ''] },
  { title: 'CronJobs', id: 'cronjobs', group: 'batch', plural: 'cronjobs', rows: cronJobRow,
    columns: ['Name', 'Namespace', 'Schedule', 'Suspend', 'Active', 'Last schedule', ''] },
];

export function render(main, context) {
  const notice = h('p', { class: 'notice', id: 'workload-notice', role: 'status' });
  main.append(notice);
  for (const kind of KINDS) {
    const box = section(kind.title, kind.id);
    main.append(box.element);
    const path = collection(kind.group, 'v1', kind.plural, context.namespace);
    watchList(path, (items, error) => {
      if (error) return fill(box.body, errorBox(error));
      const sorted = items.sort((a, b) => key(a).localeCompare(key(b)));
      const rows = sorted.map((o) => kind.rows(o, objectPath(kind.group, 'v1', kind.plural, o), notice));
      fill(box.body, table(kind.columns, rows, (i) => ({ 'data-name': key(sorted[i]) })));
    }, context.signal);
  }
}

function key(object) {
  return `${object.metadata.namespace}/${object.metadata.name}`;
}

/** Runs a write, saying what happened in the page's notice line. */
async function act(notice, doing, done, write) {
  say(notice, 'busy', doing);
  try {
    await write();
    say(notice, 'ok', done);
  } catch (error) {
    say(notice, 'error', `${doing} failed: ${error.message}`);
  }
}

function restartButton(path, object, notice) {
  const name = key(object);
  return h('button', {
    type: 'button', class: 'small', 'aria-label': `restart ${name}`,
    onclick: () => act(notice, `Restarting ${name}`, `${name} restarted`, () => mergePatch(path, {
      spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } },
    })),
  }, 'Restart');
}

/** Replica counts typed but not yet applied, kept across the live re-renders of the table. */
const drafts = new Map();

function scaleControl(path, object, notice) {
  const name = key(object);
  const input = h('input', {
    type: 'number', min: 0, class: 'replicas', value: drafts.get(name) ?? object.spec?.replicas ?? 1,
    'aria-label': `replicas of ${name}`, oninput: (e) => drafts.set(name, e.target.value),
  });
  const button = h('button', {
    type: 'button', class: 'small', 'aria-label': `scale ${name}`,
    onclick: () => {
      const replicas = Number(input.value);
      drafts.delete(name);
      if (!Number.isInteger(replicas) || replicas < 0) return say(notice, 'error', 'Replicas must be a whole number, 0 or more');
      return act(notice, `Scaling ${name} to ${replicas}`, `${name} scaled to ${replicas}`,
        () => mergePatch(path, { spec: { replicas } }));
    },
  }, 'Scale');
  return h('span', { class: 'actions' }, input, button);
}

function deploymentRow(d, path, notice) {
  const c = deploymentColumns(d);
  return [d.metadata.name, d.metadata.namespace, h('span', { class: 'ready-count' }, c.ready), c.upToDate, c.available,
    age(d.metadata.creationTimestamp),
    h('span', { class: 'actions' }, scaleControl(path, d, notice), restartButton(path, d, notice), yamlLink(path))];
}

function daemonSetRow(d, path, notice) {
  const s = d.status || {};
  return [d.metadata.name, d.metadata.namespace, s.desiredNumberScheduled || 0, s.currentNumberScheduled || 0,
    h('span', { class: 'ready-count' }, `${s.numberReady || 0}/${s.desiredNumberScheduled || 0}`),
    age(d.metadata.creationTimestamp), h('span', { class: 'actions' }, restartButton(path, d, notice), yamlLink(path))];
}

function jobRow(j, path) {
  const s = j.status || {};
  const conditions = (s.conditions || []).filter((c) => c.status === 'True').map((c) => c.type);
  const status = conditions.includes('Complete') ? 'Complete' : conditions.includes('Failed') ? 'Failed' : 'Running';
  return [j.metadata.name, j.metadata.namespace, status,
    h('span', { class: 'ready-count' }, `${s.succeeded || 0}/${j.spec?.completions ?? 1}`),
    age(j.metadata.creationTimestamp), yamlLink(path)];
}

function cronJobRow(c, path) {
  return [c.metadata.name, c.metadata.namespace, c.spec?.schedule || '', String(Boolean(c.spec?.suspend)),
    (c.status?.active || []).length, age(c.status?.lastScheduleTime) || '<none>', yamlLink(path)];
}
