// The client installs as an app and never keeps message content in the
// browser: Playwright (playwright-core) drives Debian's Chromium against a
// real `cordon serve`.
//
//  - the manifest is served as application/manifest+json, standalone, with
//    192 and 512 px PNG icons that are served too;
//  - the service worker (sw.js) takes control of the page at scope /;
//  - after a user logs in and reads a conversation, the browser's cache
//    storage holds the application shell and nothing under /api/ — and no
//    byte of the message it showed;
//  - offline, the cached shell still opens (the login screen appears).
// Screenshots go to SHOTS_DIR.
//
// usage: node pwa.mjs CORDON_EXE WEB_DIST_DIR WEB_SOURCE_DIR SHOTS_DIR
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const [cordon, dist, webSrc, shotsArg] = process.argv.slice(2);
const CHROMIUM = process.env.CORDON_CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(CHROMIUM)) {
  console.log(`SKIP: ${CHROMIUM} not found (apt-get install chromium)`);
  process.exit(77);
}
if (!dist || !fs.existsSync(path.join(dist, 'index.html'))) {
  console.error(`web client not built: ${dist}/index.html missing`);
  process.exit(1);
}
const require = createRequire(path.join(path.resolve(webSrc), 'package.json'));
const { chromium } = require('playwright-core');
const SHOTS = path.resolve(shotsArg);
fs.rmSync(SHOTS, { recursive: true, force: true });
fs.mkdirSync(SHOTS, { recursive: true });

const T0 = Date.now();
const log = (...a) => console.log(`[${((Date.now() - T0) / 1000).toFixed(1)}s]`, ...a);

// ---------------------------------------------------------------- server
const data = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-web-pwa-'));
const pwFile = path.join(data, 'admin.pw');
const srv = spawn(cordon, ['serve', '--listen', '127.0.0.1:0', '--data', data, '--admin-password-file', pwFile,
  '--insecure-fast-hash', '--log-level', 'warn', '--web-root', dist],
{ env: { ...process.env, CORDON_TEST_FAST_HASH: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
let browser = null;
function abort(e) {
  console.error(e?.stack || e);
  try { srv.kill('SIGKILL'); } catch { /* gone */ }
  browser?.close().catch(() => undefined);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
process.on('uncaughtException', abort);
process.on('unhandledRejection', abort);
setTimeout(() => abort(new Error('pwa: overall time limit (240 s) reached')), 240000).unref();
let srvErr = '';
const port = await new Promise((resolve, reject) => {
  const to = setTimeout(() => reject(new Error('cordon serve did not start in 30 s:\n' + srvErr)), 30000);
  srv.stderr.on('data', (d) => {
    srvErr += d;
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(srvErr);
    if (m) { clearTimeout(to); resolve(Number(m[1])); }
  });
  srv.on('exit', (c) => reject(new Error(`cordon serve exited ${c}:\n${srvErr}`)));
});
const base = `http://127.0.0.1:${port}`;
log(`cordon serves the client at ${base}`);

async function call(method, p, body, token, ok = true) {
  const r = await fetch(base + '/api/v1' + p, {
    method, headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  const j = text ? JSON.parse(text) : null;
  if (ok && !r.ok) throw new Error(`${method} ${p} → ${r.status} ${text}`);
  return j;
}
const PW = 'correct-horse-battery';
const pw0 = fs.readFileSync(pwFile, 'utf8').trim();
let adm = await call('POST', '/auth/login', { login: 'admin', password: pw0 });
await call('POST', '/auth/password', { old_password: pw0, new_password: PW }, adm.token);
adm = await call('POST', '/auth/login', { login: 'admin', password: PW });
const AT = adm.token;
async function mkUser(login, display_name, role = 'member', change = true) {
  const r = await call('POST', '/admin/users', { login, display_name, role }, AT);
  if (change) {
    const s = await call('POST', '/auth/login', { login, password: r.password });
    await call('POST', '/auth/password', { old_password: r.password, new_password: PW }, s.token);
  }
  return { ...r.user, oneTime: r.password };
}
const alice = await mkUser('alice', '王小丽');
const bob = await mkUser('bob', '李大明');
const SECRET_LINE = '下午三点在二楼会议室讨论预算 ZQX-7731';
const as = await call('POST', '/auth/login', { login: 'alice', password: PW });
const direct = await call('POST', '/conversations', { kind: 'direct', member_ids: [bob.id] }, as.token);
await call('POST', `/conversations/${direct.id}/messages`, { client_id: 'p1', text: SECRET_LINE }, as.token);

// ---------------------------------------------------------------- browser
browser = await chromium.launch({
  executablePath: CHROMIUM, headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
const results = [];
async function test(name, fn) {
  const t = Date.now();
  try {
    await fn();
    results.push([name, true]);
    log(`ok   ${name} (${Date.now() - t} ms)`);
  } catch (e) {
    results.push([name, false]);
    log(`FAIL ${name}: ${e.stack || e}`);
  }
}
function expectTrue(cond, msg) { if (!cond) throw new Error(msg); }

await test('the manifest: standalone, served with its type, icons served', async () => {
  const r = await fetch(base + '/manifest.webmanifest');
  expectTrue(r.status === 200, `manifest: ${r.status}`);
  expectTrue((r.headers.get('content-type') || '').startsWith('application/manifest+json'),
    `manifest type: ${r.headers.get('content-type')}`);
  const m = await r.json();
  expectTrue(m.display === 'standalone' && m.start_url === '/' && m.name && m.short_name, JSON.stringify(m));
  for (const size of ['192x192', '512x512']) {
    const icon = m.icons.find((i) => i.sizes === size && i.type === 'image/png');
    expectTrue(icon, `a ${size} PNG icon`);
    const ir = await fetch(base + icon.src);
    const bytes = new Uint8Array(await ir.arrayBuffer());
    expectTrue(ir.status === 200 && ir.headers.get('content-type') === 'image/png' && bytes[1] === 0x50,
      `${icon.src}: ${ir.status} ${ir.headers.get('content-type')}`);
  }
  const sw = await fetch(base + '/sw.js');
  expectTrue(sw.status === 200 && (sw.headers.get('cache-control') || '').includes('no-cache'),
    `sw.js must be revalidated: ${sw.status} ${sw.headers.get('cache-control')}`);
});

const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', isMobile: true, hasTouch: true });
const page = await ctx.newPage();
page.setDefaultTimeout(15000);
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));

await test('the page links the manifest; the service worker controls it at scope /', async () => {
  await page.goto(base + '/');
  const href = await page.locator('link[rel=manifest]').getAttribute('href');
  expectTrue(href === '/manifest.webmanifest', `manifest link: ${href}`);
  const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
  expectTrue(scope === base + '/', `scope: ${scope}`);
  await page.reload();
  const controlled = await page.evaluate(() => !!navigator.serviceWorker.controller);
  expectTrue(controlled, 'the reloaded page is controlled by the worker');
});

await test('after reading a conversation, the cache holds the shell and no message content', async () => {
  await page.locator('#login-id').fill('bob');
  await page.locator('#login-pw').fill(PW);
  await page.locator('button[type=submit]').click();
  await page.locator('[data-testid=conv-item]').first().click();
  await page.locator('[data-testid=messages]').getByText(SECRET_LINE).waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'pwa-chat-phone-zh.png') });
  const cached = await page.evaluate(async () => {
    const out = [];
    for (const k of await caches.keys()) {
      const c = await caches.open(k);
      for (const req of await c.keys()) {
        const r = await c.match(req);
        out.push({ url: req.url, body: r ? await r.clone().text() : '' });
      }
    }
    return out;
  });
  const urls = cached.map((e) => new URL(e.url).pathname);
  expectTrue(urls.includes('/') && urls.some((u) => u.startsWith('/assets/')), `the shell is cached: ${urls.join(' ')}`);
  expectTrue(!urls.some((u) => u.startsWith('/api/')), `nothing from /api/ is cached: ${urls.join(' ')}`);
  expectTrue(!cached.some((e) => e.body.includes(SECRET_LINE) || e.body.includes('ZQX-7731')),
    'no cached response contains the message');
});

await test('offline, the cached shell still opens', async () => {
  await ctx.setOffline(true);
  await page.goto(base + '/');
  await page.locator('#app').waitFor();
  const html = await page.content();
  expectTrue(html.includes('id="app"'), 'the shell loads offline');
  await ctx.setOffline(false);
});

await test('no script errors', async () => {
  expectTrue(errors.length === 0, errors.join('\n'));
});

await browser.close();
process.removeAllListeners('unhandledRejection');
srv.removeAllListeners('exit');
const code = await new Promise((r) => {
  srv.on('exit', (c, sig) => r(c ?? sig));
  srv.kill('SIGTERM');
  setTimeout(() => { srv.kill('SIGKILL'); r('timeout'); }, 15000).unref();
});
results.push(['cordon serve exits 0 on SIGTERM', code === 0]);
fs.rmSync(data, { recursive: true, force: true });
const passed = results.filter((r) => r[1]).length;
console.log(`screenshots: ${SHOTS}`);
console.log(`${passed} passed, ${results.length - passed} failed`);
process.exit(passed === results.length ? 0 : 1);
