// The Kubernetes API as the page calls it: every request carries the signed-in bearer token, so
// the page can do no more than the token can. Failures become ApiError with the server's Status.

const TOKEN_KEY = 'skiff-dashboard-token';

/** A failed API call: the HTTP status, the Status reason and the server's message. */
export class ApiError extends Error {
  constructor(status, reason, message) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
  get forbidden() { return this.status === 403; }
  get unauthorized() { return this.status === 401; }
}

let token = globalThis.sessionStorage?.getItem(TOKEN_KEY) || '';
/** Called when the server answers 401 to a signed-in page (the token expired or was deleted). */
let onUnauthorized = () => {};

export function currentToken() { return token; }
export function setToken(value) { token = value; sessionStorage.setItem(TOKEN_KEY, value); }
export function clearToken() { token = ''; sessionStorage.removeItem(TOKEN_KEY); }
export function whenUnauthorized(callback) { onUnauthorized = callback; }

/** Reads a Kubernetes Status (or a registry error) out of a failed response. */
async function errorOf(response) {
  let reason = response.statusText || String(response.status);
  let message = `${response.status} ${reason}`;
  try {
    const text = await response.text();
    try {
      const body = JSON.parse(text);
      if (body.kind === 'Status') {
        reason = body.reason || reason;
        message = body.message || message;
      } else if (Array.isArray(body.errors) && body.errors.length) {
        reason = body.errors[0].code;
        message = `${body.errors[0].code}: ${body.errors[0].message}`;
      }
    } catch {
      if (text.trim()) message = text.trim();
    }
  } catch {
    // The body could not be read: the status line says enough.
  }
  return new ApiError(response.status, reason, message);
}

/**
 * One API call. `options`: body (string, Blob or ArrayBuffer), contentType, signal, headers.
 * Resolves to the Response when it is 2xx; throws ApiError otherwise.
 */
export async function request(method, path, options = {}) {
  const headers = { Accept: 'application/json', ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.contentType) headers['Content-Type'] = options.contentType;
  const response = await fetch(path, {
    method, headers, body: options.body, signal: options.signal, cache: 'no-store',
  });
  if (response.ok) return response;
  const error = await errorOf(response);
  if (error.unauthorized && token) onUnauthorized(error);
  throw error;
}

export async function getJSON(path, options = {}) {
  return (await request('GET', path, options)).json();
}

/** A JSON merge patch (what `kubectl scale` and `kubectl rollout restart` amount to). */
export async function mergePatch(path, patch) {
  const body = JSON.stringify(patch);
  return (await request('PATCH', path, { body, contentType: 'application/merge-patch+json' })).json();
}

/** Server-side apply of one YAML or JSON document (create or update). */
export async function apply(path, document) {
  const query = 'fieldManager=skiff-dashboard&force=true';
  const options = { body: document, contentType: 'application/apply-patch+yaml' };
  return (await request('PATCH', `${path}?${query}`, options)).json();
}

/**
 * Checks a token: 401 means it is not a valid token. Returns the user name the server knows it
 * by (SelfSubjectReview), or '' when that review is not allowed.
 */
export async function signIn(candidate) {
  const headers = { Accept: 'application/json', Authorization: `Bearer ${candidate}` };
  const probe = await fetch('/api', { headers, cache: 'no-store' });
  if (!probe.ok) throw await errorOf(probe);
  setToken(candidate);
  try {
    const review = await request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
      contentType: 'application/json',
    });
    return (await review.json()).status?.userInfo?.username || '';
  } catch {
    return '';
  }
}

/** The collection path of a resource: `/api/v1/namespaces/NS/pods` or `/apis/apps/v1/deployments`. */
export function collection(group, version, plural, namespace) {
  const root = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const scope = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${root}${scope}/${plural}`;
}

/** The path of one object of a list, from the list's path and the object's metadata. */
export function objectPath(group, version, plural, object) {
  const ns = object.metadata.namespace;
  return `${collection(group, version, plural, ns)}/${encodeURIComponent(object.metadata.name)}`;
}
