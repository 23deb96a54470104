// Pushing a .wasm file to the built-in registry (the OCI distribution API under /v2 on the API
// port) as `skiff push` does: a CNCF wasm-oci-artifact (an `application/vnd.wasm.config.v0+json`
// config and one `application/wasm` layer), each blob in one monolithic
// `POST /v2/<name>/blobs/uploads/?digest=` with the bearer token, then the manifest.

import { request } from './api.js';

export const REGISTRY_HOST = 'registry.skiff.local';
const WASM_CONFIG = 'application/vnd.wasm.config.v0+json';
const WASM_LAYER = 'application/wasm';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** 'module', 'component', or null when the bytes are not Wasm (the preamble `\0asm`). */
export function wasmKind(bytes) {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) return null;
  if (bytes[4] === 1 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0) return 'module';
  if (bytes[6] === 1 && bytes[7] === 0) return 'component';
  return null;
}

/** A repository name the registry accepts, from a file name: `My App.wasm` -> `my-app`. */
export function repositoryName(fileName) {
  return fileName.replace(/\.wasm$/i, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'app';
}

async function sha256(bytes) {
  if (!crypto.subtle) throw new Error('computing digests needs the page over HTTPS (a secure context)');
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return `sha256:${[...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** Uploads one blob unless the repository has it already. */
async function uploadBlob(name, bytes, digest) {
  try {
    await request('HEAD', `/v2/${name}/blobs/${digest}`);
    return;
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  await request('POST', `/v2/${name}/blobs/uploads/?digest=${encodeURIComponent(digest)}`, {
    body: bytes, contentType: 'application/octet-stream',
  });
}

/**
 * Pushes `bytes` (a .wasm file called `fileName`) as `name:tag`; `progress(text)` hears each
 * step. Resolves to the image reference a pod spec names (`registry.skiff.local/name:tag`).
 */
export async function pushWasm(bytes, fileName, name, tag, progress) {
  const kind = wasmKind(bytes);
  if (!kind) throw new Error(`${fileName} is not a WebAssembly module or component; nothing was uploaded`);
  if (!/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(name)) {
    throw new Error(`${name} is not a repository name (lowercase letters, digits, '.', '_', '-', '/')`);
  }
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag)) throw new Error(`${tag} is not a tag`);
  const layer = await sha256(bytes);
  progress(`uploading ${fileName} (${bytes.length} bytes, ${layer.slice(0, 19)}…)`);
  await uploadBlob(name, bytes, layer);
  const config = new TextEncoder().encode(JSON.stringify({
    architecture: 'wasm', os: kind === 'module' ? 'wasip1' : 'wasip2', layerDigests: [layer],
  }));
  const configDigest = await sha256(config);
  await uploadBlob(name, config, configDigest);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: WASM_CONFIG,
    config: { mediaType: WASM_CONFIG, digest: configDigest, size: config.length },
    layers: [{ mediaType: WASM_LAYER, digest: layer, size: bytes.length,
      annotations: { 'org.opencontainers.image.title': fileName } }],
  });
  progress('pushing the manifest');
  await request('PUT', `/v2/${name}/manifests/${tag}`, { body: manifest, contentType: OCI_MANIFEST });
  return `${REGISTRY_HOST}/${name}:${tag}`;
}
