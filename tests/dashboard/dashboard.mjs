// Drives skiff's dashboard in Debian's headless Chromium, as issue 19's test asks: a wrong
// token gets the sign-in error; a token without rights sees "forbidden"; the admin sees the
// node Ready, uploads the HTTP example and watches it become Available, scales it to 3 and
// sees three pods (and the Service's three endpoints, and the node's pods), follows a pod's
// logs and sees a new line arrive, uploads the crasher and sees it flagged CrashLoopBackOff on
// the overview, applies pasted YAML, reads an object's YAML, and restarts the Deployment.
// Each step saves a screenshot into OUT_DIR. Run by tests/tests/cli/dashboard.rs.
//
// Environment: SKIFF_URL, ADMIN_TOKEN, NO_RIGHTS_TOKEN, NODE, HTTP_WASM, CRASHER_WASM, OUT_DIR,
// CHROMIUM (default /usr/bin/chromium), STEP_MS (each wait's limit, default 90000).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const url = `${env('SKIFF_URL')}/dashboard/`;
const out = env('OUT_DIR');
const node = env('NODE');
const stepMs = Number(env('STEP_MS', '90000'));
mkdirSync(out, { recursive: true });

let shot = 0;
async function step(page, name, action) {
  const started = Date.now();
  try {
    await action();
  } finally {
    shot += 1;
    const file = join(out, `${String(shot).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    console.log(`step ${name}: ${Date.now() - started} ms, screenshot ${file}`);
  }
}

async function signIn(page, token) {
  await page.goto(url);
  await page.locator('#token').fill(token);
  await page.locator('#signin-button').click();
}

async function signOut(page) {
  await page.locator('#signout').click();
  await page.locator('#signin').waitFor();
}

async function deployWasm(page, file, name, port) {
  await page.goto(`${url}#/deploy`);
  await page.locator('#wasm-file').setInputFiles(file);
  await page.locator('#wasm-name').fill(name);
  await page.locator('#wasm-port').fill(port ? String(port) : '');
  await page.locator('#wasm-deploy').click();
  await page.locator('#deploy-notice.ok').waitFor();
}

async function logLines(page) {
  return (await page.locator('#logs').textContent()).split('\n').filter((l) => l.trim()).length;
}

async function run(page) {
  await step(page, 'wrong-token', async () => {
    await signIn(page, 'not-a-token');
    const error = page.locator('#signin-error');
    await error.waitFor();
    const text = await error.textContent();
    if (!/Sign-in failed.*401/.test(text)) throw new Error(`sign-in error reads: ${text}`);
  });
  await step(page, 'forbidden', async () => {
    await signIn(page, env('NO_RIGHTS_TOKEN'));
    await page.locator('#nodes .forbidden').waitFor();
    await page.locator('#pods-by-status .forbidden').waitFor();
    await page.goto(`${url}#/workloads`);
    await page.locator('#deployments .forbidden').waitFor();
    await page.goto(`${url}#/overview`);
    await page.locator('#events .forbidden').waitFor();
  });
  await step(page, 'node-ready', async () => {
    await signOut(page);
    await signIn(page, env('ADMIN_TOKEN'));
    await page.locator(`#nodes tr[data-node="${node}"][data-ready="Ready"]`).waitFor();
  });
  await step(page, 'http-example-available', async () => {
    await deployWasm(page, env('HTTP_WASM'), 'hello', 8080);
    await page.locator('#rollout-status[data-available="True"]').waitFor();
    const text = await page.locator('#rollout-status').textContent();
    if (!text.includes('successfully rolled out')) throw new Error(`rollout reads: ${text}`);
  });
  await step(page, 'scaled-to-3', async () => {
    await page.goto(`${url}#/workloads`);
    await page.locator('input[aria-label="replicas of default/hello"]').fill('3');
    await page.locator('button[aria-label="scale default/hello"]').click();
    await page.locator('#workload-notice.ok').waitFor();
    await page.locator('#deployments tr[data-name="default/hello"] .ready-count', { hasText: '3/3' }).waitFor();
  });
  await step(page, 'three-pods', async () => {
    await page.goto(`${url}#/pods`);
    const running = page.locator('tr[data-pod^="default/hello-"][data-status="Running"]');
    await running.nth(2).waitFor();
    const count = await running.count();
    if (count !== 3) throw new Error(`${count} hello pods Running, not 3`);
  });
  await step(page, 'services-and-nodes', async () => {
    await page.goto(`${url}#/services`);
    const service = page.locator('#services tr[data-name="default/hello"]');
    await page.waitForFunction(() => {
      const row = document.querySelector('#services tr[data-name="default/hello"]');
      return row && (row.textContent.match(/:8080/g) || []).length === 3;
    });
    await service.waitFor();
    await page.goto(`${url}#/nodes`);
    await page.locator(`article[data-node="${node}"] tr[data-pod^="default/hello-"]`).nth(2).waitFor();
  });
  await step(page, 'logs-follow', async () => {
    const pod = await page.locator('tr[data-pod^="default/hello-"]').first().getAttribute('data-pod');
    await page.goto(`${url}#/logs/${pod}`);
    await page.locator('#log-state', { hasText: 'following' }).waitFor();
    await page.waitForFunction(() => document.getElementById('logs').textContent.trim().length > 0);
    const before = await logLines(page);
    await page.waitForFunction((n) => document.getElementById('logs').textContent.split('\n')
      .filter((l) => l.trim()).length > n, before);
    console.log(`logs: ${before} lines, then ${await logLines(page)}`);
  });
  await step(page, 'crashloop-flagged', async () => {
    await deployWasm(page, env('CRASHER_WASM'), 'crasher', 0);
    await page.goto(`${url}#/overview`);
    await page.locator('.flag.crashloop', { hasText: 'default/crasher-' }).waitFor();
    await page.locator('#warnings-only').check();
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#events tbody tr')];
      return rows.length > 0 && rows.every((r) => r.classList.contains('warning'));
    });
  });
  await step(page, 'yaml-apply-and-view', async () => {
    await page.goto(`${url}#/deploy`);
    await page.locator('#yaml-input').fill(
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-dashboard\ndata:\n  note: "pasted"\n');
    await page.locator('#yaml-apply').click();
    await page.locator('#deploy-notice.ok', { hasText: 'configmaps/from-dashboard' }).waitFor();
    await page.goto(`${url}#/yaml/api/v1/namespaces/default/configmaps/from-dashboard`);
    await page.locator('#yaml', { hasText: 'note: pasted' }).waitFor();
  });
  await step(page, 'restart', async () => {
    await page.goto(`${url}#/workloads`);
    await page.locator('button[aria-label="restart default/hello"]').click();
    await page.locator('#workload-notice.ok', { hasText: 'default/hello restarted' }).waitFor();
  });
}

const browser = await chromium.launch({
  executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(stepMs);
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await run(page);
  if (pageErrors.length) throw new Error(`uncaught errors in the page: ${pageErrors.join('; ')}`);
  console.log('dashboard: every step passed');
} finally {
  await browser.close();
}
