// Listing in pages (node's test runner, no browser): every page is asked with `limit`, the
// continue token is passed on, and the items and the snapshot's resourceVersion come back.
// `node --test control/dashboard/tests/` (scripts/test.sh).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listAll, PAGE_SIZE } from '../assets/js/watch.js';

/** A server of `total` objects answering `limit`/`continue` as the API server does. */
function pagedServer(total, asked) {
  return async (url) => {
    asked.push(url);
    const query = new URL(url, 'https://x').searchParams;
    const limit = Number(query.get('limit'));
    const from = Number(query.get('continue') || 0);
    const items = [];
    for (let i = from; i < Math.min(from + limit, total); i++) items.push({ metadata: { name: `p${i}` } });
    const next = from + limit < total ? String(from + limit) : undefined;
    return { items, metadata: { resourceVersion: '42', ...(next ? { continue: next } : {}) } };
  };
}

test('lists in pages of PAGE_SIZE', async () => {
  const cases = [
    ['empty', '/api/v1/pods', 0, 1],
    ['one page', '/api/v1/pods', 3, 1],
    ['exactly one page', '/api/v1/pods', PAGE_SIZE, 1],
    ['1,000 pods', '/api/v1/pods', 1000, 2],
    ['1,001 pods, with a selector', '/api/v1/pods?labelSelector=a%3Db', 1001, 3],
  ];
  for (const [what, path, total, pages] of cases) {
    const asked = [];
    const list = await listAll(path, pagedServer(total, asked));
    assert.equal(list.items.length, total, what);
    assert.equal(new Set(list.items.map((p) => p.metadata.name)).size, total, `${what}: no duplicates`);
    assert.equal(list.resourceVersion, '42', what);
    assert.equal(asked.length, pages, what);
    assert.ok(asked.every((url) => url.includes(`limit=${PAGE_SIZE}`)), what);
    assert.ok(asked.every((url) => url.split('?').length === 2), `${what}: one query string`);
  }
});

test('an expired continue token is the caller\'s to retry', async () => {
  let calls = 0;
  const expiring = async () => {
    calls += 1;
    if (calls === 1) return { items: [{ metadata: { name: 'a' } }], metadata: { continue: 't' } };
    throw Object.assign(new Error('expired'), { status: 410 });
  };
  await assert.rejects(listAll('/api/v1/pods', expiring), /expired/);
});
