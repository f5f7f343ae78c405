// The instructor's view in a real browser (Debian chromium, headless, driven by
// playwright-core): the page loads, shows the instances, a session turns red within
// seconds of `lab fault ... link down` and green after `clear`. Screenshots are kept in
// test-output/ to look at. Also: JSON API, actions refused without the token.
import test from 'ava';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lab, labProcess, root } from '../cli/helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ok = process.getuid?.() === 0 && existsSync(CHROMIUM);
const rootTest = ok ? test.serial : test.serial.skip;
if (!ok) console.warn('serve: needs root and /usr/bin/chromium (scripts/debian-packages.txt); skipped');

rootTest('lab serve in a browser: instances shown, a session red after a fault and green after clear', async (t) => {
  t.timeout(120_000);
  const env = { FABRIC_LAB_STATE: await mkdtemp(path.join(tmpdir(), 'ws-sv-state-')) };
  const dir = await mkdtemp(path.join(tmpdir(), 'ws-sv-'));
  const file = path.join(dir, 'ws-sv.yaml');
  await writeFile(file, (await readFile(path.join(root, 'labs/calico-vxlan.yaml'), 'utf8')).replace(/^name: .*$/m, 'name: ws-sv'));
  const shots = path.join(root, 'test-output');
  await mkdir(shots, { recursive: true });
  const server = labProcess(['serve', '--port', '0', '--interval', '0.5', '--verify-every', '3'], env);
  let out = '';
  server.all!.on('data', (d: Buffer) => { out += d.toString(); });
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  try {
    t.is((await lab(['up', file, '--instances', 'a,b'], env)).code, 0);
    // The URL and the token from the server's first lines.
    const started = Date.now();
    while (!/token: \w+/.test(out)) {
      if (Date.now() - started > 20_000 || server.exitCode !== null) throw new Error(`lab serve did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = /lab serve: (http:\S+)/.exec(out)![1];
    const token = /token: (\w+)/.exec(out)![1];
    t.regex(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'loopback by default');

    const state = await (await fetch(`${url}api/state`)).json() as { copies: unknown[] };
    t.true(Array.isArray(state.copies));
    const denied = await fetch(`${url}api/reset`, { method: 'POST', body: '{"exercise":"x"}' });
    t.is(denied.status, 401, 'actions need the token');
    const wrong = await fetch(`${url}api/hint`, { method: 'POST', headers: { Authorization: 'Bearer nope' }, body: '{}' });
    t.is(wrong.status, 401);
    const bad = await fetch(`${url}api/hint`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: '{"exercise":"<b>"}' });
    t.is(bad.status, 400);

    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    await page.goto(url);
    await page.waitForSelector('[data-copy="ws-sv_a"] svg', { timeout: 15_000 });
    await page.waitForSelector('[data-copy="ws-sv_b"] svg', { timeout: 15_000 });
    const edge = (copy: string) => `[data-copy="${copy}"] line[data-edge*="leaf1"][data-edge*="spine-sw1"]`;
    await page.waitForSelector(`${edge('ws-sv_a')}[data-state="up"]`, { timeout: 15_000, state: "attached" });
    await page.waitForSelector('[data-copy="ws-sv_a"] [data-kind="ping"]', { timeout: 20_000 });
    await page.screenshot({ path: path.join(shots, 'serve-1-green.png'), fullPage: true });

    t.is((await lab(['fault', 'ws-sv', '--instance', 'a', 'link', 'leaf1', 'spine-sw1', 'down'], env)).code, 0);
    const t0 = Date.now();
    await page.waitForSelector(`${edge('ws-sv_a')}[data-state="down"]`, { timeout: 10_000, state: "attached" });
    t.log(`red after ${Date.now() - t0} ms`);
    // The other instance is untouched.
    t.is(await page.getAttribute(edge('ws-sv_b'), 'data-state'), 'up');
    await page.waitForSelector('[data-copy="ws-sv_a"] .faults', { timeout: 10_000 });
    await page.screenshot({ path: path.join(shots, 'serve-2-fault.png'), fullPage: true });

    t.is((await lab(['fault', 'ws-sv', '--instance', 'a', 'clear'], env)).code, 0);
    const t1 = Date.now();
    await page.waitForSelector(`${edge('ws-sv_a')}[data-state="up"]`, { timeout: 15_000, state: "attached" });
    t.log(`green after ${Date.now() - t1} ms`);
    await page.screenshot({ path: path.join(shots, 'serve-3-cleared.png'), fullPage: true });
    t.pass();
  } finally {
    await browser.close();
    server.kill('SIGINT');
    await server;
    await lab(['down', '--all'], env);
  }
  t.notRegex((await execa('ip', ['netns', 'list'])).stdout, /ws-sv/);
});
