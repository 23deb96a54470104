// Live lists: list, then watch from the list's resourceVersion with `?watch=1` streamed through
// fetch (newline-delimited WatchEvents), relisting when the watch ends or expires (410). The
// view is told of changes at most every `THROTTLE_MS`, so 1,000 pods updating do not re-render
// the page 1,000 times a second. Lists come in pages of `PAGE_SIZE` (`limit`/`continue`, as
// client-go's reflector pages its lists), so no one answer carries thousands of objects.

import { request, getJSON } from './api.js';

const THROTTLE_MS = 300;
const RETRY_MS = 2000;
export const PAGE_SIZE = 500;

function keyOf(object) {
  return `${object.metadata.namespace || ''}/${object.metadata.name}`;
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

/** Reads newline-delimited JSON from a streamed response, calling `onLine` with each value. */
export async function readLines(response, onLine) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.trim()) onLine(line);
    }
  }
  if (buffer.trim()) onLine(buffer);
}

/**
 * Lists `path` page by page with `get(url)`; returns every item and the resourceVersion of
 * the list's snapshot (every page is of the first one's revision, so a watch starts there).
 * An expired continue token (410) throws, and the caller lists again.
 */
export async function listAll(path, get) {
  const separator = path.includes('?') ? '&' : '?';
  const items = [];
  let token = '';
  for (;;) {
    const more = token ? `&continue=${encodeURIComponent(token)}` : '';
    const page = await get(`${path}${separator}limit=${PAGE_SIZE}${more}`);
    items.push(...(page.items || []));
    token = page.metadata?.continue || '';
    if (!token) return { items, resourceVersion: page.metadata?.resourceVersion };
  }
}

/** Follows one watch stream into `items`; returns when the server ends it. */
async function follow(path, resourceVersion, items, changed, signal) {
  const separator = path.includes('?') ? '&' : '?';
  const url = `${path}${separator}watch=1&allowWatchBookmarks=true&resourceVersion=${resourceVersion}`;
  const response = await request('GET', url, { signal });
  await readLines(response, (line) => {
    const event = JSON.parse(line);
    if (event.type === 'ADDED' || event.type === 'MODIFIED') {
      items.set(keyOf(event.object), event.object);
      changed();
    } else if (event.type === 'DELETED') {
      items.delete(keyOf(event.object));
      changed();
    } else if (event.type === 'ERROR') {
      // 410 Gone: the revision was compacted; the loop relists.
      throw Object.assign(new Error(event.object?.message || 'watch error'), { expired: true });
    }
  });
}

/**
 * Keeps the list at `path` live until `signal` aborts. `onUpdate(items, error)` gets the
 * objects (an array) or, when listing failed, `null` and the ApiError. A 401 or 403 stops the
 * loop: retrying cannot help.
 */
export function watchList(path, onUpdate, signal) {
  const items = new Map();
  let timer = null;
  const flush = () => { timer = null; if (!signal.aborted) onUpdate([...items.values()], null); };
  const changed = () => { if (!timer) timer = setTimeout(flush, THROTTLE_MS); };
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  (async () => {
    while (!signal.aborted) {
      try {
        const list = await listAll(path, (url) => getJSON(url, { signal }));
        items.clear();
        for (const object of list.items) items.set(keyOf(object), object);
        flush();
        await follow(path, list.resourceVersion, items, changed, signal);
      } catch (error) {
        if (signal.aborted) return;
        if (error.status === 401 || error.status === 403 || error.status === 404) {
          onUpdate(null, error);
          return;
        }
        if (!error.expired) await sleep(RETRY_MS, signal);
      }
    }
  })();
}

/** Keeps one object live: `onUpdate(object or null when deleted, error)`. */
export function watchObject(collectionPath, name, onUpdate, signal) {
  const path = `${collectionPath}?fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`;
  watchList(path, (items, error) => onUpdate(items ? items[0] || null : null, error), signal);
}
