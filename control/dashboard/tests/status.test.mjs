// The page's decisions by table (node's test runner, no browser): kubectl's pod STATUS column
// and rollout status, quantities. `node --test control/dashboard/tests/` (scripts/test.sh).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podStatus, podReady, podRestarts, rolloutStatus, cpuCores, memoryBytes, nodeReady } from '../assets/js/status.js';

const pod = (status, extra = {}) => ({ metadata: { name: 'p', ...extra.metadata }, spec: { containers: [{ name: 'c' }], ...extra.spec }, status });
const running = { running: { startedAt: 'x' } };

test('pod status as kubectl prints it', () => {
  const cases = [
    ['pending, no status', pod({ phase: 'Pending' }), 'Pending'],
    ['running and ready', pod({ phase: 'Running', containerStatuses: [{ ready: true, state: running }] }), 'Running'],
    ['crash loop', pod({ phase: 'Running', containerStatuses: [{ restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } }] }), 'CrashLoopBackOff'],
    ['image pull', pod({ phase: 'Pending', containerStatuses: [{ state: { waiting: { reason: 'ErrImagePull' } } }] }), 'ErrImagePull'],
    ['completed', pod({ phase: 'Succeeded', containerStatuses: [{ state: { terminated: { exitCode: 0, reason: 'Completed' } } }] }), 'Completed'],
    ['exit code without reason', pod({ phase: 'Failed', containerStatuses: [{ state: { terminated: { exitCode: 3 } } }] }), 'ExitCode:3'],
    ['signal without reason', pod({ phase: 'Failed', containerStatuses: [{ state: { terminated: { exitCode: 137, signal: 9 } } }] }), 'Signal:9'],
    ['evicted', pod({ phase: 'Failed', reason: 'Evicted' }), 'Evicted'],
    ['init running', pod({ phase: 'Pending', initContainerStatuses: [{ state: running }] }, { spec: { initContainers: [{}, {}] } }), 'Init:0/2'],
    ['init crash', pod({ phase: 'Pending', initContainerStatuses: [{ state: { waiting: { reason: 'CrashLoopBackOff' } } }] }, { spec: { initContainers: [{}] } }), 'Init:CrashLoopBackOff'],
    ['init failed', pod({ phase: 'Pending', initContainerStatuses: [{ state: { terminated: { exitCode: 1, reason: 'Error' } } }] }, { spec: { initContainers: [{}] } }), 'Init:Error'],
    ['init done, app running', pod({ phase: 'Running', initContainerStatuses: [{ state: { terminated: { exitCode: 0 } } }], containerStatuses: [{ ready: true, state: running }] }, { spec: { initContainers: [{}] } }), 'Running'],
    ['terminating', pod({ phase: 'Running', containerStatuses: [{ ready: true, state: running }] }, { metadata: { deletionTimestamp: 'x' } }), 'Terminating'],
    ['node lost', pod({ phase: 'Running', reason: 'NodeLost' }, { metadata: { deletionTimestamp: 'x' } }), 'Unknown'],
  ];
  for (const [what, input, want] of cases) assert.equal(podStatus(input), want, what);
});

test('ready and restarts columns', () => {
  const p = pod({ containerStatuses: [{ ready: true, restartCount: 2 }, { ready: false, restartCount: 1 }] }, { spec: { containers: [{}, {}] } });
  assert.equal(podReady(p), '1/2');
  assert.equal(podRestarts(p), 3);
  assert.equal(podReady(pod(undefined)), '0/1');
});

test('rollout status as kubectl rollout status words it', () => {
  const d = (generation, spec, status) => ({ metadata: { name: 'web', generation }, spec, status });
  const cases = [
    [d(2, { replicas: 3 }, { observedGeneration: 1 }), false, 'Waiting for deployment spec update to be observed...'],
    [d(1, { replicas: 3 }, { observedGeneration: 1, updatedReplicas: 1, replicas: 1 }), false, 'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...'],
    [d(1, { replicas: 1 }, { observedGeneration: 1, updatedReplicas: 1, replicas: 2 }), false, 'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...'],
    [d(1, { replicas: 3 }, { observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 2 }), false, 'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...'],
    [d(1, { replicas: 3 }, { observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }), true, 'deployment "web" successfully rolled out'],
  ];
  for (const [input, done, message] of cases) assert.deepEqual(rolloutStatus(input), [done, message]);
});

test('quantities and node readiness', () => {
  assert.equal(cpuCores('250m'), 0.25);
  assert.equal(cpuCores('12345678n'), 0.012345678);
  assert.equal(cpuCores('2'), 2);
  assert.equal(memoryBytes('64Mi'), 64 * 2 ** 20);
  assert.equal(memoryBytes('1G'), 1e9);
  assert.equal(memoryBytes('junk'), 0);
  assert.equal(nodeReady({ status: { conditions: [{ type: 'Ready', status: 'True' }] } }), 'Ready');
  assert.equal(nodeReady({ status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }), 'NotReady');
  assert.equal(nodeReady({ status: {} }), 'Unknown');
});
