// The browser half of `dashboard-bench` (bench/src/dashboard): Debian's Chromium driven by
// playwright-core (installed in tests/dashboard by scripts/setup.sh). Prints one JSON line per
// result on stdout.
//
//   node bench/dashboard/page.mjs first-load URL TOKEN RUNS EXPECT_PODS
//     each run in a fresh browser context (empty cache): time from navigation to the sign-in
//     form being usable (time to interactive), the bytes of the page's files, then the time
//     from "Sign in" to the overview showing the nodes and EXPECT_PODS pods.
//   node bench/dashboard/page.mjs live URL TOKEN VIEW EXPECT_PODS SECONDS
//     signs in, opens VIEW (pods or overview) until it shows EXPECT_PODS pods, prints
//     {"ready":...}, stays SECONDS, then prints what the page shows and Chromium's CPU seconds.

import { readFileSync, readdirSync } from 'node:fs';

const { chromium } = await import(new URL('../../tests/dashboard/node_modules/playwright-core/index.mjs', import.meta.url));
const [mode, url, token, ...rest] = process.argv.slice(2);
const dashboard = `${url}/dashboard/`;
const emit = (value) => console.log(JSON.stringify(value));

/** CPU seconds of the descendants of process `root` (Chromium's browser, renderer, GPU...). */
function treeCpuSeconds(root) {
  const parent = new Map();
  const cpu = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(fields[1]));
      cpu.set(Number(name), (Number(fields[11]) + Number(fields[12])) / 100);
    } catch { /* the process ended meanwhile */ }
  }
  let total = 0;
  for (const [pid, seconds] of cpu) {
    if (pid === root) continue;
    for (let p = pid; p; p = parent.get(p)) {
      if (p === root) { total += seconds; break; }
      if (!parent.has(p)) break;
    }
  }
  return total;
}

async function signIn(page) {
  await page.locator('#token').fill(token);
  await page.locator('#signin-button').click();
}

async function firstLoad(browser, expectPods) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const started = performance.now();
  await page.goto(dashboard);
  await page.locator('#token').waitFor({ state: 'visible' });
  const interactiveMs = performance.now() - started;
  const files = await page.evaluate(() => performance.getEntriesByType('navigation')
    .concat(performance.getEntriesByType('resource'))
    .filter((e) => e.initiatorType !== 'fetch')
    .map((e) => ({ name: e.name, transfer: e.transferSize, body: e.encodedBodySize, decoded: e.decodedBodySize })));
  const signInStarted = performance.now();
  await signIn(page);
  await page.locator('#nodes tr[data-node]').first().waitFor();
  await page.locator('#pods-by-status .total', { hasText: `${expectPods} pods` }).waitFor();
  const overviewMs = performance.now() - signInStarted;
  await context.close();
  return {
    interactiveMs, overviewMs, files: files.length,
    transferBytes: files.reduce((n, f) => n + f.transfer, 0),
    bodyBytes: files.reduce((n, f) => n + f.body, 0),
    decodedBytes: files.reduce((n, f) => n + f.decoded, 0),
  };
}

async function live(browser, view, expectPods, seconds) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.goto(dashboard);
  await signIn(page);
  await page.locator('#nodes').waitFor();
  await page.goto(`${dashboard}#/${view}`);
  if (view === 'pods') {
    await page.waitForFunction((n) => document.querySelectorAll('tr[data-pod^="default/live-"]').length === n, expectPods, { timeout: 120000 });
  } else {
    await page.locator('#pods-by-status .total', { hasText: `${expectPods} pods` }).waitFor({ timeout: 120000 });
  }
  // Playwright starts Chromium as a child of this process.
  const pid = process.pid;
  const cpuBefore = treeCpuSeconds(pid);
  emit({ ready: view });
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const shown = await page.evaluate(() => {
    const rows = [...document.querySelectorAll('tr[data-pod^="default/live-"]')];
    const restarts = rows.map((r) => Number(r.children[4]?.textContent || 0));
    return { rows: rows.length, maxRestarts: restarts.length ? Math.max(...restarts) : null };
  });
  emit({ done: view, ...shown, browserCpuSeconds: treeCpuSeconds(pid) - cpuBefore });
  await context.close();
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  if (mode === 'first-load') {
    const [runs, expectPods] = rest.map(Number);
    for (let i = 0; i < runs; i += 1) emit({ run: i + 1, ...(await firstLoad(browser, expectPods)) });
  } else if (mode === 'live') {
    const [view, expectPods, seconds] = [rest[0], Number(rest[1]), Number(rest[2])];
    await live(browser, view, expectPods, seconds);
  } else {
    throw new Error(`unknown mode ${mode}: first-load or live`);
  }
} finally {
  await browser.close();
}
