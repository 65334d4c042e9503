// The shared harness of the browser tests (every tests/web/*.mjs but run_unit.mjs): a real
// `cordon serve` on a fresh data directory serving the built client, an
// administrator with a known password, users made through the API,
// Debian's Chromium through playwright-core, a small test runner, and a
// clean ending (the server must exit 0 on SIGTERM).
//
// h.cordon, h.data: the binary and the server's data directory (for CLI
// calls next to the running server); h.onFail(n): called after a failed
// test (e.g. screenshots of every page).
//
// usage in a test file:
//   const h = await setup('pwa', process.argv.slice(2));   // CORDON DIST WEBSRC SHOTS
//   await h.launch();
//   const page = await h.newPage('alice', { viewport: PHONE, touch: true, lang: 'en' });
//   await h.signIn(page, 'alice');                          // resolves once signed in
//   await h.test('name', async () => { ... });
//   await h.finish();                                       // prints "N passed, N failed", exits
//
// h.errors collects every page's script errors (a test file ends with a test
// that it is empty); h.pages holds the pages still open, by name.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

export const PW = 'correct-horse-battery';
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
// What only a signed-in client shows (the main navigation, the console's
// tabs, the conversation list): sign-in is complete once one is there.
export const SIGNED_IN = '.tabs, [data-testid=conv-list], nav';

export async function setup(name, [cordon, dist, webSrc, shotsArg], { limitMs = 240000 } = {}) {
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

  const data = fs.mkdtempSync(path.join(os.tmpdir(), `cordon-web-${name}-`));
  const pwFile = path.join(data, 'admin.pw');
  const srv = spawn(cordon, ['serve', '--listen', '127.0.0.1:0', '--data', data, '--admin-password-file', pwFile,
    '--insecure-fast-hash', '--log-level', 'warn', '--web-root', dist],
  { env: { ...process.env, CORDON_TEST_FAST_HASH: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const h = { log, SHOTS, chromium, browser: null, results: [], cordon, data, onFail: null };
  // Never leave the server (or the browser) behind: any unexpected error ends the run.
  let srvErr = '';
  function abort(e) {
    console.error(e?.stack || e);
    if (srvErr) console.error(`cordon serve said (last 2000 characters):\n${srvErr.slice(-2000)}`);
    try { srv.kill('SIGKILL'); } catch { /* gone */ }
    h.browser?.close().catch(() => undefined);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  process.on('uncaughtException', abort);
  process.on('unhandledRejection', abort);
  setTimeout(() => abort(new Error(`${name}: overall time limit (${limitMs / 1000} s) reached`)), limitMs).unref();
  const port = await new Promise((resolve, reject) => {
    const to = setTimeout(() => reject(new Error('cordon serve did not start in 30 s:\n' + srvErr)), 30000);
    srv.stderr.on('data', (d) => {
      srvErr += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(srvErr);
      if (m) { clearTimeout(to); resolve(Number(m[1])); }
    });
    srv.on('exit', (c) => reject(new Error(`cordon serve exited ${c}:\n${srvErr}`)));
  });
  h.base = `http://127.0.0.1:${port}`;
  log(`cordon serves the client at ${h.base}`);

  h.call = async (method, p, body, token, ok = true) => {
    const r = await fetch(h.base + '/api/v1' + p, {
      method, headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    const j = text ? JSON.parse(text) : null;
    if (ok && !r.ok) throw new Error(`${method} ${p} → ${r.status} ${text}`);
    return j;
  };
  const pw0 = fs.readFileSync(pwFile, 'utf8').trim();
  let adm = await h.call('POST', '/auth/login', { login: 'admin', password: pw0 });
  await h.call('POST', '/auth/password', { old_password: pw0, new_password: PW }, adm.token);
  adm = await h.call('POST', '/auth/login', { login: 'admin', password: PW });
  h.adminToken = adm.token;
  // A user through the admin API; change: do the first-login password change
  // (to PW) and sign that session out; external: an external contact.
  h.mkUser = async (login, display_name, role = 'member', change = true, external = false) => {
    const r = await h.call('POST', '/admin/users', { login, display_name, role, ...(external ? { external } : {}) }, h.adminToken);
    if (change) {
      const s = await h.call('POST', '/auth/login', { login, password: r.password });
      await h.call('POST', '/auth/password', { old_password: r.password, new_password: PW }, s.token);
      await h.call('POST', '/auth/logout', {}, s.token, false).catch(() => undefined);
    }
    return { ...r.user, oneTime: r.password };
  };
  h.launch = async () => {
    h.browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
    return h.browser;
  };
  h.errors = [];
  h.pages = {};
  // A page in a fresh browser context (its own storage: one signed-in user
  // each), in the zh-CN locale and China's time zone. lang 'en' stores the
  // client's language choice before the first load; touch: a phone (touch
  // screen, mobile viewport); downloads: accept downloads; dialogs: accept
  // confirm() dialogs; consoleErrors: console errors count as errors too.
  h.newPage = async (pname, { viewport = DESKTOP, lang = 'zh', touch = false, timeout = 10000,
    downloads = false, dialogs = false, consoleErrors = false } = {}) => {
    const ctx = await h.browser.newContext({
      viewport, locale: 'zh-CN', timezoneId: 'Asia/Shanghai',
      ...(touch ? { isMobile: true, hasTouch: true } : {}), ...(downloads ? { acceptDownloads: true } : {}),
    });
    if (lang === 'en') await ctx.addInitScript(() => localStorage.setItem('cordon.lang', 'en'));
    const page = await ctx.newPage();
    page.setDefaultTimeout(timeout);
    h.pages[pname] = page;
    page.on('close', () => delete h.pages[pname]);
    page.on('pageerror', (e) => h.errors.push(`${pname}: ${e.message}`));
    if (consoleErrors) page.on('console', (m) => { if (m.type() === 'error') h.errors.push(`${pname}: ${m.text()}`); });
    if (dialogs) page.on('dialog', (d) => d.accept());
    return page;
  };
  // Signs in through the sign-in form and waits for `until` (default: the
  // signed-in frame). A test that navigates before the sign-in request has
  // answered leaves the page on the form (a hash change during sign-in), so
  // nothing may follow before this resolves. A first sign-in with a one-time
  // password waits for the password form instead, TOTP for its field.
  h.signIn = async (page, login, { pw = PW, until = SIGNED_IN } = {}) => {
    await page.goto(h.base + '/');
    await page.locator('#login-id').fill(login);
    await page.locator('#login-pw').fill(pw);
    await page.locator('button[type=submit]').click();
    await page.locator(until).first().waitFor();
  };
  // A file uploaded by `token` for conversation `conv` in one request (tus
  // creation-with-upload), then waited for until its inspection has ended:
  // the upload's last state (GET /uploads/{id}: state, file_id, findings).
  h.upload = async (token, conv, file) => {
    const bytes = fs.readFileSync(file);
    const b64 = (x) => Buffer.from(String(x)).toString('base64');
    const c = await fetch(`${h.base}/api/v1/uploads`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Tus-Resumable': '1.0.0', 'Upload-Length': String(bytes.length), 'Upload-Metadata': `filename ${b64(path.basename(file))},conversation_id ${b64(conv)}`, 'Content-Type': 'application/offset+octet-stream' },
      body: bytes,
    });
    if (c.status !== 201) throw new Error(`upload: ${c.status} ${await c.text()}`);
    const id = c.headers.get('location').split('/').pop();
    for (let i = 0; i < 600; i++) {
      const up = await h.call('GET', `/uploads/${id}`, undefined, token);
      if (up.state !== 'uploading' && up.state !== 'inspecting') return up;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('inspection did not end');
  };
  h.test = async (tname, fn) => {
    const t = Date.now();
    try {
      await fn();
      h.results.push([tname, true]);
      log(`ok   ${tname} (${Date.now() - t} ms)`);
    } catch (e) {
      h.results.push([tname, false]);
      log(`FAIL ${tname}: ${e.stack || e}`);
      if (h.onFail) await h.onFail(h.results.length).catch(() => undefined);
    }
  };
  h.finish = async () => {
    await h.browser?.close();
    process.removeAllListeners('unhandledRejection');
    srv.removeAllListeners('exit');
    const code = await new Promise((r) => {
      srv.on('exit', (c, sig) => r(c ?? sig));
      srv.kill('SIGTERM');
      setTimeout(() => { srv.kill('SIGKILL'); r('timeout'); }, 15000).unref();
    });
    h.results.push(['cordon serve exits 0 on SIGTERM', code === 0]);
    fs.rmSync(data, { recursive: true, force: true });
    const passed = h.results.filter((r) => r[1]).length;
    console.log(`screenshots: ${SHOTS}`);
    console.log(`${passed} passed, ${h.results.length - passed} failed`);
    process.exit(passed === h.results.length ? 0 : 1);
  };
  return h;
}

export function expectTrue(cond, msg) { if (!cond) throw new Error(msg); }

// The visible text of a page (text nodes of shown elements, placeholders,
// titles, labels), without code: <code>, <pre>, editors, .mono (hashes),
// .excerpt (what the guard found in a file: the file's content, data).
export async function visibleText(page) {
  return page.evaluate(() => {
    const out = [];
    const skip = (el) => el.closest('code, pre, textarea, script, style, .mono, canvas, .excerpt');
    const shown = (el) => {
      const s = getComputedStyle(el);
      return s.display !== 'none' && s.visibility !== 'hidden' && el.getClientRects().length > 0;
    };
    const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let t; (t = w.nextNode());) {
      const el = t.parentElement;
      if (!el || skip(el)) continue;
      if (!shown(el.closest('select') ?? el)) continue;
      const s = t.textContent.trim();
      if (s) out.push(s);
    }
    for (const el of document.querySelectorAll('[placeholder], [title], [aria-label], img[alt]')) {
      if (skip(el) || !shown(el)) continue;
      for (const a of ['placeholder', 'title', 'aria-label']) if (el.getAttribute(a)) out.push(el.getAttribute(a));
    }
    return out;
  });
}

// English words in a text, but for the allowed ones: a word with a digit,
// "_" or "." is an id or a number; URLs and e-mail addresses are data.
export function englishWords(s, allow) {
  const t = s.replace(/https?:\/\/\S+/g, ' ').replace(/\S+@\S+/g, ' ');
  return (t.match(/[A-Za-z0-9][A-Za-z0-9_.'-]*/g) ?? [])
    .map((w) => w.replace(/[.'-]+$/, ''))
    .filter((w) => /[A-Za-z]/.test(w) && !allow.has(w) && !/[0-9_.]/.test(w));
}

// Each English word a page shows (visibleText) that allow does not name,
// with where: `word in “text”`. Empty for a Chinese screen done right.
export async function englishShown(page, allow) {
  return (await visibleText(page)).flatMap((s) => englishWords(s, allow).map((w) => `${w} in “${s.slice(0, 60)}”`));
}
