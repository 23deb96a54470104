// YAML: writing any object as YAML for the YAML view, and reading just enough of a pasted
// document (apiVersion, kind, metadata.name and namespace) to know where to send it; the API
// server parses the whole document itself.

import { getJSON, collection } from './api.js';

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./:@ -]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|~|y|n)$/i;

function scalar(value) {
  if (value === null || value === undefined) return 'null';
  if (typeof value !== 'string') return String(value);
  if (value === '' || !PLAIN.test(value) || RESERVED.test(value) || /[:#]\s|\s$|:$/.test(value)) {
    return JSON.stringify(value);
  }
  return value;
}

function isEmpty(value) {
  return typeof value === 'object' && value !== null && Object.keys(value).length === 0;
}

/** `value` as block YAML, indented by `indent` spaces. */
export function toYAML(value, indent = 0) {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (!value.length) return `${pad}[]\n`;
    return value.map((item) => {
      if (typeof item === 'object' && item !== null && !isEmpty(item)) {
        const inner = toYAML(item, indent + 2);
        return `${pad}- ${inner.slice(indent + 2)}`;
      }
      return `${pad}- ${isEmpty(item) ? (Array.isArray(item) ? '[]' : '{}') : scalar(item)}\n`;
    }).join('');
  }
  if (typeof value === 'object' && value !== null) {
    if (isEmpty(value)) return `${pad}{}\n`;
    return Object.entries(value).map(([key, item]) => {
      const name = scalar(key);
      if (typeof item === 'object' && item !== null && !isEmpty(item)) {
        return `${pad}${name}:\n${toYAML(item, Array.isArray(item) ? indent : indent + 2)}`;
      }
      const text = isEmpty(item) ? (Array.isArray(item) ? '[]' : '{}') : scalar(item);
      return `${pad}${name}: ${text}\n`;
    }).join('');
  }
  return `${pad}${scalar(value)}\n`;
}

/** Splits a multi-document YAML text at `---` lines, dropping empty documents. */
export function documents(text) {
  return text.split(/^---[^\n]*$/m).filter((d) => d.split('\n').some((l) => l.trim() && !l.trim().startsWith('#')));
}

function unquote(text) {
  const t = text.replace(/\s+#.*$/, '').trim();
  return t.replace(/^(['"])(.*)\1$/, '$2');
}

/** The top-level apiVersion and kind and metadata's name and namespace of one document. */
export function header(document) {
  const found = {};
  let inMetadata = false;
  let metadataIndent = -1;
  for (const line of document.split('\n')) {
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const indent = line.length - line.trimStart().length;
    const match = /^(\s*)([A-Za-z]+):\s*(.*)$/.exec(line);
    if (indent === 0) inMetadata = false;
    if (!match) continue;
    const [, , key, rest] = match;
    if (indent === 0) {
      if (key === 'apiVersion' || key === 'kind') found[key] = unquote(rest);
      inMetadata = key === 'metadata';
      metadataIndent = -1;
    } else if (inMetadata) {
      if (metadataIndent < 0) metadataIndent = indent;
      if (indent === metadataIndent && (key === 'name' || key === 'namespace')) found[key] = unquote(rest);
    }
  }
  return found;
}

const discovery = new Map();

/** The served resource of `apiVersion`/`kind`: { plural, namespaced }, from discovery. */
async function resourceOf(apiVersion, kind) {
  const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  if (!discovery.has(path)) discovery.set(path, getJSON(path));
  let list;
  try {
    list = await discovery.get(path);
  } catch (error) {
    discovery.delete(path);
    throw error;
  }
  const resource = list.resources.find((r) => r.kind === kind && !r.name.includes('/'));
  if (!resource) throw new Error(`the server does not serve ${kind} in ${apiVersion}`);
  return { plural: resource.name, namespaced: resource.namespaced };
}

/** Where a document goes: its object's API path (namespace `fallback` when it names none). */
export async function pathOf(document, fallback) {
  const { apiVersion, kind, name, namespace } = header(document);
  if (!apiVersion || !kind) throw new Error('the document has no apiVersion or kind');
  if (!name) throw new Error(`the ${kind} has no metadata.name`);
  const { plural, namespaced } = await resourceOf(apiVersion, kind);
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const ns = namespaced ? namespace || fallback || 'default' : undefined;
  const path = `${collection(group, version, plural, ns)}/${encodeURIComponent(name)}`;
  return { path, kind, name, namespace: ns, group, plural };
}
