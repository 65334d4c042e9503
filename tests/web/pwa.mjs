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
import path from 'node:path';
import { setup, expectTrue, PW, PHONE } from './harness.mjs';

const h = await setup('pwa', process.argv.slice(2));
const { base, mkUser, call, test, log, SHOTS } = h;
const alice = await mkUser('alice', '王小丽');
const bob = await mkUser('bob', '李大明');
const SECRET_LINE = '下午三点在二楼会议室讨论预算 ZQX-7731';
const as = await call('POST', '/auth/login', { login: 'alice', password: PW });
const direct = await call('POST', '/conversations', { kind: 'direct', member_ids: [bob.id] }, as.token);
await call('POST', `/conversations/${direct.id}/messages`, { client_id: 'p1', text: SECRET_LINE }, as.token);

await h.launch();

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

const page = await h.newPage('bob', { viewport: PHONE, touch: true, timeout: 15000 });
const errors = h.errors;
const ctx = page.context();

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
  await h.signIn(page, 'bob');
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

await h.finish();
