// The page: sign-in, the navigation, the namespace choice and the router. Each view is a
// module with `render(main, context)`; the context's AbortSignal stops the view's watches and
// log streams when the user goes elsewhere.

import { signIn, currentToken, clearToken, whenUnauthorized, getJSON } from './api.js';
import { errorBox, fill, h } from './ui.js';
import * as overview from './overview.js';
import * as workloads from './workloads.js';
import * as pods from './pods.js';
import * as network from './network.js';
import * as deploy from './deploy.js';

const NAMESPACE_KEY = 'skiff-dashboard-namespace';

const routes = {
  overview: overview.render,
  workloads: workloads.render,
  pods: pods.render,
  logs: pods.renderLogs,
  services: network.renderServices,
  nodes: network.renderNodes,
  deploy: deploy.render,
  yaml: renderYaml,
};

let current = null;
const $ = (id) => document.getElementById(id);

function namespace() { return $('namespace').value; }

/** Shows the sign-in form, with `message` as its error when given. */
function showSignIn(message) {
  if (current) current.abort();
  current = null;
  $('shell').hidden = true;
  $('signin').hidden = false;
  $('signin-error').hidden = !message;
  $('signin-error').textContent = message || '';
  $('token').focus();
}

async function submitSignIn(event) {
  event.preventDefault();
  const button = $('signin-button');
  button.disabled = true;
  try {
    const user = await signIn($('token').value.trim());
    $('token').value = '';
    await enter(user);
  } catch (error) {
    const message = error.status === 401
      ? 'Sign-in failed: the server did not accept this token (401 Unauthorized).'
      : `Sign-in failed: ${error.message}`;
    showSignIn(message);
  } finally {
    button.disabled = false;
  }
}

async function enter(user) {
  $('signin').hidden = true;
  $('shell').hidden = false;
  $('user').textContent = user ? `signed in as ${user}` : '';
  await loadNamespaces();
  if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/overview';
  else route();
}

async function loadNamespaces() {
  const select = $('namespace');
  const chosen = sessionStorage.getItem(NAMESPACE_KEY) || '';
  try {
    const list = await getJSON('/api/v1/namespaces');
    const names = list.items.map((n) => n.metadata.name).sort();
    select.replaceChildren(h('option', { value: '' }, 'all namespaces'),
      ...names.map((n) => h('option', { value: n }, n)));
  } catch {
    // A token that may not list namespaces still picks from what it typed before.
    if (chosen) select.append(h('option', { value: chosen }, chosen));
  }
  select.value = chosen;
}

/** Renders the view the hash names: `#/pods`, `#/logs/NS/POD`, `#/yaml/api/v1/...`. */
function route() {
  if (!currentToken()) return showSignIn();
  if (current) current.abort();
  current = new AbortController();
  const [, name = 'overview', ...rest] = location.hash.split('/');
  const view = routes[name] || overview.render;
  for (const link of document.querySelectorAll('nav a')) {
    link.classList.toggle('active', link.getAttribute('href') === `#/${name}`);
  }
  const main = $('view');
  main.replaceChildren();
  const context = { signal: current.signal, namespace: namespace(), args: rest.map(decodeURIComponent) };
  Promise.resolve(view(main, context)).catch((error) => fill(main, errorBox(error)));
}

/** The YAML view of the object whose API path follows `#/yaml`. */
async function renderYaml(main, context) {
  const { toYAML } = await import('./yaml.js');
  const path = `/${context.args.map(encodeURIComponent).join('/')}`;
  fill(main, h('h2', {}, path), h('p', { class: 'muted' }, 'Loading…'));
  const object = await getJSON(path, { signal: context.signal });
  if (object.metadata) delete object.metadata.managedFields;
  fill(main, h('h2', {}, `${object.kind || 'Object'} ${object.metadata?.name || ''}`),
    h('pre', { class: 'yaml', id: 'yaml' }, toYAML(object)));
}

function start() {
  $('signin-form').addEventListener('submit', submitSignIn);
  $('signout').addEventListener('click', () => { clearToken(); showSignIn(); });
  $('namespace').addEventListener('change', () => {
    sessionStorage.setItem(NAMESPACE_KEY, namespace());
    route();
  });
  window.addEventListener('hashchange', route);
  whenUnauthorized(() => {
    clearToken();
    showSignIn('Signed out: the server no longer accepts this token (401 Unauthorized).');
  });
  if (currentToken()) enter('').catch(() => showSignIn());
  else showSignIn();
}

start();
