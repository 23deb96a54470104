// DOM helpers. Every piece of API data reaches the page as text (textContent), never as HTML.

/** `h('td', {class: 'x', onclick: f}, 'text', child)`: an element with attributes and children. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'value') element.value = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A titled section whose body a view fills and refills. */
export function section(title, id, ...extra) {
  const body = h('div', { class: 'body' }, h('p', { class: 'muted' }, 'Loading…'));
  const element = h('section', { id }, h('header', {}, h('h2', {}, title), ...extra), body);
  return { element, body };
}

/**
 * A table: `columns` are header names, `rows` arrays of cells (text or elements);
 * `rowAttributes(i)` may add attributes to each row (for test ids and flags).
 */
export function table(columns, rows, rowAttributes = () => ({})) {
  if (!rows.length) return h('p', { class: 'muted' }, 'None.');
  return h('table', {},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c)))),
    h('tbody', {}, rows.map((cells, i) => h('tr', rowAttributes(i), cells.map((c) => h('td', {}, c))))));
}

/** An API failure as the page shows it; 403 reads "forbidden" with the server's reason. */
export function errorBox(error) {
  if (error?.status === 403) {
    return h('div', { class: 'error forbidden', role: 'alert' },
      h('strong', {}, 'Forbidden'), ': this token may not see this. ', h('code', {}, error.message));
  }
  return h('div', { class: 'error', role: 'alert' }, error?.message || String(error));
}

/** Kubernetes' age column: 5s, 3m, 2h, 4d. */
export function age(timestamp) {
  if (!timestamp) return '';
  const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(timestamp)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/** A link to the YAML view of the object at `path`. */
export function yamlLink(path) {
  return h('a', { href: `#/yaml${path}`, class: 'small' }, 'YAML');
}

/** Replaces `container`'s content with `children`. */
export function fill(container, ...children) {
  container.replaceChildren();
  append(container, children);
}

/** Sets a status line: kind is 'ok', 'error' or 'busy'. */
export function say(element, kind, text) {
  element.className = `notice ${kind}`;
  element.textContent = text;
}

/** A small line chart (SVG) of `values` between 0 and `max` (0: a little above the peak). */
export function sparkline(values, max, label) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 120 30');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const top = max > 0 ? max : Math.max(...values) * 1.2 || 1;
  if (values.length === 1) values = [values[0], values[0]];
  const step = values.length > 1 ? 120 / (values.length - 1) : 0;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(30 - (v / top) * 28).toFixed(1)}`);
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', points.join(' '));
  svg.append(line);
  return svg;
}
