// The YAML view's writer and the pasted-YAML reader, by table. Every written document is read
// back by a real YAML parser (the API server's, in the e2e test); here it is checked by shape.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toYAML, documents, header } from '../assets/js/yaml.js';

test('objects become block YAML with quoted scalars where YAML would misread them', () => {
  const cases = [
    [{ a: 1, b: 'x' }, 'a: 1\nb: x\n'],
    [{ s: 'true', num: '123', n: 'y' }, 's: "true"\nnum: "123"\n"n": "y"\n'],
    [{ s: '', c: 'a: b', h: 'x #y' }, 's: ""\nc: "a: b"\nh: "x #y"\n'],
    [{ list: [1, 'two'] }, 'list:\n- 1\n- two\n'],
    [{ list: [{ a: 1, b: 2 }] }, 'list:\n- a: 1\n  b: 2\n'],
    [{ nested: { deep: { x: null } } }, 'nested:\n  deep:\n    x: null\n'],
    [{ empty: {}, none: [] }, 'empty: {}\nnone: []\n'],
    [{ 'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z' }, 'kubectl.kubernetes.io/restartedAt: "2026-01-01T00:00:00Z"\n'],
    [{ multi: 'line\nbreak' }, 'multi: "line\\nbreak"\n'],
  ];
  for (const [input, want] of cases) assert.equal(toYAML(input), want, JSON.stringify(input));
});

test('documents split at --- and empty ones are dropped', () => {
  assert.equal(documents('a: 1\n---\nb: 2\n').length, 2);
  assert.equal(documents('---\na: 1\n---\n# only a comment\n---\n').length, 1);
});

test('a document header: apiVersion, kind, and metadata name and namespace only', () => {
  const cases = [
    ['apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  template:\n    metadata:\n      name: not-this\n',
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'prod' }],
    ['kind: "ConfigMap"  # a comment\napiVersion: v1\nmetadata:\n    labels:\n      name: label-not-name\n    name: \'cm\'\n',
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm' }],
    ['apiVersion: v1\nkind: Namespace\n', { apiVersion: 'v1', kind: 'Namespace' }],
  ];
  for (const [input, want] of cases) assert.deepEqual(header(input), want, input);
});
