// Photos and files in chat, in the browser: Playwright (playwright-core)
// drives Debian's Chromium against a real `cordon serve` (harness.mjs).
//
//  - attach from the picker, drop (a DataTransfer dispatched on the
//    conversation), paste (a ClipboardEvent on the composer);
//  - a big file at a throttled upload speed: the progress bar with speed
//    and time left, pause (the server's offset stands still) and resume, a
//    dropped connection (offline, then online: the upload goes on, no new
//    upload), a reload mid-upload (the browser kept the file in IndexedDB:
//    the upload goes on by itself from the server's offset, no picking, no
//    POST, the first PATCH at an offset > 0; the kept copy goes when it
//    ends, when it is removed and at sign-out), removal (the upload is gone
//    on the server); the reload in English and on a phone too;
//  - the guard's state of each file before sending ("检查中…" while the
//    guard reads it, recorded as it changes): a clean image, a GPS
//    photo ("位置信息已移除", the recipient's bytes without EXIF), a marked
//    page blocked with what was found and where, a numbered copy held for a
//    justification and then sent with one;
//  - the recipient's timeline: two images in one message, thumbnails, the viewer (Escape, arrows,
//    swipe down on a phone), a file card and its download;
//  - the conversation at 1280×800 and 390×844 (touch, attach through the
//    phone's picker) in zh-CN and English; no English inside zh-CN.
// Screenshots go to SHOTS_DIR.
//
// usage: node files.mjs CORDON_EXE WEB_DIST_DIR WEB_SOURCE_DIR SHOTS_DIR
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup, expectTrue, englishWords, visibleText, PW, DESKTOP, PHONE } from './harness.mjs';

// Fixtures: the image extractor's generator (Pillow + the CJK font), and a
// big file of random bytes for the transfer (never sent: removed at the end).
const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIX = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-web-files-fix-'));
const gen = path.join(HERE, '..', 'file', 'image', 'gen_images.py');
let made = null;
for (const py of ['/usr/bin/python3', 'python3']) {
  made = spawnSync(py, [gen, FIX], { encoding: 'utf8' });
  if (made.status === 0) break;
}
if (made.status !== 0) throw new Error(`gen_images.py failed (python3-pil, fonts-wqy-zenhei): ${made.stderr}`);
const BIG = path.join(FIX, 'survey-raw.bin');
fs.writeFileSync(BIG, crypto.randomBytes(24 * 1024 * 1024));
const NOTE = path.join(FIX, '会议安排.txt');
fs.writeFileSync(NOTE, '周五下午三点在二楼会议室开会，请带笔记本。\n');
const fix = (n) => path.join(FIX, n);

// The server starts after the fixtures: a pause of the event loop between
// two requests would leave the HTTP client a kept-alive socket the server
// has closed meanwhile.
const h = await setup('files', process.argv.slice(2), { limitMs: 300000 });
const { base, call, mkUser, log, SHOTS, test } = h;

const alice = await mkUser('alice', '王小丽');
const bob = await mkUser('bob', '李大明');
const as = await call('POST', '/auth/login', { login: 'alice', password: PW });
const group = await call('POST', '/conversations', { kind: 'group', title: '资料组', member_ids: [bob.id] }, as.token);
void alice;

await h.launch();
const errors = h.errors;
const newPage = (name, { phone = false, lang = 'zh' } = {}) =>
  h.newPage(name, { viewport: phone ? PHONE : DESKTOP, touch: phone, lang, timeout: 20000, downloads: true });
// signed in, and the conversation list has loaded
const login = (page, user) => h.signIn(page, user, { until: '[data-testid=conv-item]' });
async function openGroup(page) {
  await page.goto(`${base}/#/chat/${group.id}`);
  await page.locator('[data-testid=composer]').waitFor();
}
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
const item = (page, name) => page.locator(`[data-testid=upload-item][data-name="${name}"]`);
async function stateOf(page, name, states, timeout = 60000) {
  const loc = item(page, name);
  await loc.waitFor();
  const want = [].concat(states);
  await page.waitForFunction(({ name, want }) => {
    const el = document.querySelector(`[data-testid=upload-item][data-name="${name}"]`);
    return el && want.includes(el.getAttribute('data-state'));
  }, { name, want }, { timeout });
  return loc;
}
/** A File built in the page from bytes (for drop and paste). */
async function fileHandle(page, file, mime) {
  return page.evaluateHandle(({ name, mime, b64 }) => {
    const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bin], name, { type: mime, lastModified: 1700000000000 }));
    return dt;
  }, { name: path.basename(file), mime, b64: fs.readFileSync(file).toString('base64') });
}
async function sendDraft(page, text) {
  if (text) await page.locator('[data-testid=composer]').fill(text);
  const btn = page.locator('[data-testid=send]');
  await page.waitForFunction(() => !document.querySelector('[data-testid=send]').disabled);
  await btn.click();
  await page.waitForFunction(() => !document.querySelector('[data-testid=upload-tray]'));
}
const lastMsg = (page) => page.locator('[data-testid=message]').last();
async function uploadInfo(id) {
  const r = await fetch(`${base}/api/v1/uploads/${id}`, { headers: { Authorization: `Bearer ${as.token}` } });
  return { status: r.status, body: r.status === 200 ? await r.json() : null };
}

const A = await newPage('alice');
const B = await newPage('bob-phone', { phone: true });
await login(A, 'alice');
await login(B, 'bob');
await openGroup(A);
await openGroup(B);

await test('attach two images from the picker: each is checked, then both go in one message, and the other side sees the thumbnails', async () => {
  await A.locator('[data-testid=file-input]').setInputFiles([fix('plain_text.png'), fix('nometa.jpg')]);
  const it = item(A, 'plain_text.png');
  await it.waitFor();
  await stateOf(A, 'nometa.jpg', 'ready');
  const ready = await stateOf(A, 'plain_text.png', 'ready');
  const st = await ready.locator('[data-testid=upload-state]').textContent();
  expectTrue(st.includes('未发现敏感内容'), `clean state: ${st}`);
  await shot(A, '01-clean-ready-zh');
  await sendDraft(A, '通知的照片');
  const m = lastMsg(B);
  await B.waitForFunction(() => [...document.querySelectorAll('[data-testid=message]')].some((x) => x.textContent.includes('通知的照片') && x.querySelector('[data-testid=att-image] img')));
  expectTrue(await m.locator('[data-testid=att-image]').count() === 2, 'two images in one message');
  const img = m.locator('[data-testid=att-image] img').first();
  await B.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
  // The server's thumbnail when it made one (the attachment says so), else the image itself.
  const src = await img.getAttribute('src');
  const hist = await call('GET', `/conversations/${group.id}/messages?limit=5`, undefined, as.token);
  const att = hist.messages.map((x) => x.attachments ?? []).flat().find((a) => a.name === 'plain_text.png');
  expectTrue(att && att.kind === 'image', `history: ${JSON.stringify(att)}`);
  const want = att.thumbnail ? /\/api\/v1\/files\/[^/]+\/thumbnail$/ : /\/api\/v1\/files\/[^/]+\?inline=1$/;
  expectTrue(want.test(src), `thumbnail ${att.thumbnail}: src ${src}`);
  if (!att.thumbnail) log('note: the server made no thumbnail; the timeline shows the image itself');
});

await test('drop a GPS photo on the conversation: "位置信息已移除", and the recipient\'s bytes have no EXIF', async () => {
  const dt = await fileHandle(A, fix('gps.jpg'), 'image/jpeg');
  for (const type of ['dragenter', 'dragover']) await A.dispatchEvent('[data-testid=messages]', type, { dataTransfer: dt });
  await A.locator('[data-testid=drop-hint]').waitFor();
  await shot(A, '02-drop-hint-zh');
  await A.dispatchEvent('[data-testid=messages]', 'drop', { dataTransfer: dt });
  const it = await stateOf(A, 'gps.jpg', 'ready');
  await it.locator('[data-testid=location-removed]').waitFor();
  expectTrue((await it.locator('[data-testid=location-removed]').textContent()).includes('位置信息已移除'), 'location removed told');
  await shot(A, '03-location-removed-zh');
  await sendDraft(A, '');
  await B.waitForFunction(() => document.querySelectorAll('[data-testid=att-location-removed]').length > 0);
  const id = await B.locator('[data-testid=att-image]').last().getAttribute('data-file-id');
  const bytes = await B.evaluate(async (id) => {
    const r = await fetch(`/api/v1/files/${id}`);
    return { status: r.status, b: Array.from(new Uint8Array(await r.arrayBuffer())) };
  }, id);
  expectTrue(bytes.status === 200, `download: ${bytes.status}`);
  const buf = Buffer.from(bytes.b);
  expectTrue(buf[0] === 0xff && buf[1] === 0xd8, 'a JPEG came back');
  expectTrue(buf.indexOf('Exif\0\0') < 0 && fs.readFileSync(fix('gps.jpg')).indexOf('Exif\0\0') >= 0, 'the EXIF (GPS) block is gone from what the recipient downloads');
});

await test('paste an image into the composer: it joins the draft', async () => {
  const dt = await fileHandle(A, fix('ok.png'), 'image/png');
  await A.evaluate((dt) => {
    const ev = new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true });
    document.querySelector('[data-testid=composer]').dispatchEvent(ev);
  }, dt);
  await stateOf(A, 'ok.png', ['ready', 'held', 'blocked']);
  await A.locator('[data-testid=upload-item][data-name="ok.png"] [data-testid=upload-remove]').click();
  await A.waitForFunction(() => !document.querySelector('[data-testid=upload-tray]'));
});

await test('a marked page is blocked before sending, saying what was found and where', async () => {
  // every state the tray item shows on the way, with its words ("检查中…" while the guard reads it)
  await A.evaluate(() => {
    window.__seen = [];
    const rec = () => {
      const el = document.querySelector('[data-testid=upload-item][data-name="page_clean.png"]');
      if (!el) return;
      const s = `${el.getAttribute('data-state')}|${el.querySelector('[data-testid=upload-state]')?.textContent ?? ''}`;
      if (window.__seen[window.__seen.length - 1] !== s) window.__seen.push(s);
    };
    window.__obs = new MutationObserver(rec);
    window.__obs.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  });
  await A.locator('[data-testid=file-input]').setInputFiles(fix('page_clean.png'));
  const it = await stateOf(A, 'page_clean.png', 'blocked');
  const seen = await A.evaluate(() => { window.__obs.disconnect(); return window.__seen; });
  expectTrue(seen.some((x) => x.startsWith('inspecting|') && x.includes('检查中')), `"检查中…" shown while inspecting: ${JSON.stringify(seen)}`);
  expectTrue(seen.findIndex((x) => x.startsWith('inspecting|')) < seen.findIndex((x) => x.startsWith('blocked|')), `inspecting before blocked: ${JSON.stringify(seen)}`);
  const findings = await it.locator('[data-testid=upload-finding]').allTextContents();
  expectTrue(findings.some((f) => /机密/.test(f) && /：/.test(f) && f.indexOf('：') > 0), `findings with a location: ${JSON.stringify(findings)}`);
  expectTrue(await A.locator('[data-testid=send]').isDisabled(), 'cannot send with a blocked file');
  await A.locator('[data-testid=composer]').fill('看看');
  expectTrue(await A.locator('[data-testid=send]').isDisabled(), 'not even with text');
  await shot(A, '04-blocked-zh');
  log('blocked: ' + findings.join(' | '));
  await it.locator('[data-testid=upload-remove]').click();
  await A.locator('[data-testid=composer]').fill('');
});

await test('a numbered copy needs a justification: held, then sent with one', async () => {
  await A.locator('[data-testid=file-input]').setInputFiles(fix('page_copyno.png'));
  const it = await stateOf(A, 'page_copyno.png', ['held', 'blocked', 'ready']);
  const st = await it.getAttribute('data-state');
  expectTrue(st === 'held', `page_copyno.png: ${st} (${await it.textContent()})`);
  expectTrue((await it.textContent()).includes('需要说明理由'), 'held says a reason is needed');
  await shot(A, '05-held-zh');
  await A.locator('[data-testid=send]').click();
  await A.locator('[data-testid=confirm-dialog]').waitFor();
  await shot(A, '06-held-confirm-zh');
  await A.locator('[data-testid=justification]').fill('已经部门负责人同意转发');
  await A.locator('[data-testid=confirm-send]').click();
  await A.locator('[data-testid=confirm-dialog]').waitFor({ state: 'detached' });
  await A.waitForFunction(() => !document.querySelector('[data-testid=upload-tray]'));
});

// ---------------------------------------------------------------- transfer
const cdp = await A.context().newCDPSession(A);
async function throttle(bytesPerSec, offline = false) {
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSec });
}
const reqs = [];
A.on('request', (r) => {
  if (r.url().includes('/api/v1/uploads')) reqs.push({ m: r.method(), off: r.headers()['upload-offset'] ?? null, t: Date.now() });
});
const BIGNAME = path.basename(BIG);
const pct = () => A.locator(`[data-testid=upload-item][data-name="${BIGNAME}"] [data-testid=upload-progress]`).getAttribute('aria-valuenow').then(Number);
async function waitPct(min) {
  await A.waitForFunction(({ n, min }) => {
    const el = document.querySelector(`[data-testid=upload-item][data-name="${n}"] [data-testid=upload-progress]`);
    return el && Number(el.getAttribute('aria-valuenow')) >= min;
  }, { n: BIGNAME, min }, { timeout: 60000 });
}
let bigId = null;

await test('a big file: progress with speed and time left, pause (the server offset stands still) and resume', async () => {
  await throttle(1.5 * 1024 * 1024);
  await A.locator('[data-testid=file-input]').setInputFiles(BIG);
  await waitPct(8);
  const nums = await A.locator(`[data-testid=upload-item][data-name="${BIGNAME}"] [data-testid=upload-numbers]`).textContent();
  expectTrue(/MiB\/秒/.test(nums) && /剩余/.test(nums) && /24\.0 MiB/.test(nums), `progress line: ${nums}`);
  await shot(A, '07-progress-zh');
  bigId = await item(A, BIGNAME).getAttribute('data-upload-id');
  expectTrue(bigId, 'the upload id is known');
  await A.locator('[data-testid=upload-pause]').click();
  await stateOf(A, BIGNAME, 'paused');
  await A.waitForTimeout(600);
  const o1 = (await uploadInfo(bigId)).body.offset;
  await A.waitForTimeout(1200);
  const o2 = (await uploadInfo(bigId)).body.offset;
  expectTrue(o1 === o2 && o1 > 0, `paused: offsets ${o1} then ${o2}`);
  await shot(A, '08-paused-zh');
  const before = await pct();
  await A.locator('[data-testid=upload-resume]').click();
  await waitPct(before + 5);
  expectTrue(!reqs.some((r) => r.m === 'POST' && r.t > reqs[0].t), 'resumed without a new upload');
});

await test('a dropped connection: the upload goes on by itself once the network is back', async () => {
  const p0 = await pct();
  await throttle(1.5 * 1024 * 1024, true);
  await A.waitForTimeout(2000);
  await throttle(1.5 * 1024 * 1024, false);
  await waitPct(p0 + 5);
  expectTrue(reqs.filter((r) => r.m === 'POST').length === 1, `one creation only: ${JSON.stringify(reqs.map((r) => r.m))}`);
});

/** Files the browser keeps for unfinished uploads (web/src/filekeep.ts). */
const keptCount = (page) => page.evaluate(() => new Promise((res) => {
  const r = indexedDB.open('cordon-uploads', 1);
  r.onupgradeneeded = () => r.result.createObjectStore('files');
  r.onsuccess = () => {
    const c = r.result.transaction('files', 'readonly').objectStore('files').count();
    c.onsuccess = () => { res(c.result); r.result.close(); };
    c.onerror = () => res(-1);
  };
  r.onerror = () => res(-1);
}));

await test('a reload mid-upload: the upload goes on by itself from the server\'s offset, the file not picked again', async () => {
  expectTrue((await keptCount(A)) === 1, 'the browser keeps the unfinished upload\'s file');
  const atReload = (await uploadInfo(bigId)).body.offset;
  const mark = Date.now();
  await A.reload();
  await A.locator('[data-testid=composer]').waitFor();
  // no file input touched: it resumes, with its progress
  await stateOf(A, BIGNAME, ['uploading', 'inspecting', 'ready', 'held', 'blocked']);
  await A.waitForFunction(({ n }) => {
    const el = document.querySelector(`[data-testid=upload-item][data-name="${n}"] [data-testid=upload-progress]`);
    return el && Number(el.getAttribute('aria-valuenow')) > 0;
  }, { n: BIGNAME });
  const txt = await item(A, BIGNAME).textContent();
  expectTrue(!txt.includes('请重新选择这个文件'), `not asked to pick it again: ${txt}`);
  await shot(A, '09-after-reload-zh');
  // still throttled: the removal below ends it mid-upload
  const before = await pct();
  await waitPct(before + 3);
  const after = reqs.filter((r) => r.t >= mark);
  expectTrue(!after.some((r) => r.m === 'POST'), `no new upload after the reload: ${JSON.stringify(after)}`);
  const firstPatch = after.find((r) => r.m === 'PATCH');
  expectTrue(firstPatch && Number(firstPatch.off) >= atReload && Number(firstPatch.off) > 0, `first PATCH at ${firstPatch?.off}, server had ${atReload}`);
  expectTrue((await item(A, BIGNAME).getAttribute('data-upload-id')) === bigId, 'the same upload');
  expectTrue((await uploadInfo(bigId)).body.offset > atReload, 'the server\'s offset moves on');
});

await test('removing a file from the draft ends its upload on the server', async () => {
  await item(A, BIGNAME).locator('[data-testid=upload-remove]').click();
  await A.waitForFunction(() => !document.querySelector('[data-testid=upload-tray]'));
  let st = 0;
  for (let i = 0; i < 60 && st !== 404; i++) { // up to 12 s: a loaded CI machine
    st = (await uploadInfo(bigId)).status;
    if (st !== 404) await A.waitForTimeout(200);
  }
  expectTrue(st === 404, `upload after removal: ${st}`);
  await throttle(-1);
  expectTrue((await keptCount(A)) === 0, 'the kept copy went with the removal');
  const stored = await A.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('cordon.uploads.') || k.startsWith('tus::')));
  expectTrue(stored.length === 0, `nothing left in localStorage: ${stored}`);
});

const BIG2 = path.join(FIX, 'survey-2.bin');
fs.writeFileSync(BIG2, crypto.randomBytes(8 * 1024 * 1024));
for (const [lang, phone, end] of [['en', false, 'remove'], ['zh', true, 'sign-out'], ['en', true, 'the end of the upload']]) {
  const tag = `${lang}-${phone ? 'phone' : 'desktop'}`;
  await test(`${tag}: a reload mid-upload resumes by itself; the kept copy goes at ${end}`, async () => {
    const P = await newPage(`alice-${tag}`, { phone, lang });
    await login(P, 'alice');
    await openGroup(P);
    const pc = await P.context().newCDPSession(P);
    await pc.send('Network.enable');
    await pc.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 512 * 1024 });
    const name = path.basename(BIG2);
    await P.locator('[data-testid=file-input]').setInputFiles(BIG2);
    await stateOf(P, name, 'uploading');
    const id = await item(P, name).getAttribute('data-upload-id').then(async (v) => {
      for (let i = 0; !v && i < 100; i++) { await P.waitForTimeout(100); v = await item(P, name).getAttribute('data-upload-id'); }
      return v;
    });
    expectTrue(id, 'the upload id is known');
    for (let i = 0; i < 100 && (await keptCount(P)) !== 1; i++) await P.waitForTimeout(100);
    expectTrue((await keptCount(P)) === 1, 'kept while unfinished');
    await P.reload();
    await P.locator('[data-testid=composer]').waitFor();
    await stateOf(P, name, 'uploading');
    await P.waitForFunction(({ n }) => {
      const el = document.querySelector(`[data-testid=upload-item][data-name="${n}"] [data-testid=upload-progress]`);
      return el && Number(el.getAttribute('aria-valuenow')) > 0;
    }, { n: name });
    expectTrue((await item(P, name).getAttribute('data-upload-id')) === id, 'the same upload after the reload');
    await shot(P, `10-after-reload-${tag}`);
    if (lang === 'zh') {
      const words = (await item(P, name).innerText()).split(/\s+/).flatMap((x) => englishWords(x, new Set(['MiB', 'KiB', 'B', 'bin', 'BIN'])));
      expectTrue(words.length === 0, `English in the zh tray item: ${words.join(', ')}`);
    } else {
      expectTrue(!/[\u4e00-\u9fff]/.test(await item(P, name).innerText()), 'no Chinese in the English tray item');
    }
    if (end === 'remove') {
      await item(P, name).locator('[data-testid=upload-remove]').click();
      await P.waitForFunction(() => !document.querySelector('[data-testid=upload-tray]'));
    } else if (end === 'the end of the upload') {
      await pc.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
      await stateOf(P, name, ['inspecting', 'ready', 'held', 'blocked']);
      expectTrue((await uploadInfo(id)).body.offset === 8 * 1024 * 1024, 'every byte arrived');
    } else {
      await P.locator('[data-testid=logout]').first().click();
      await P.waitForFunction(() => !document.querySelector('[data-testid=composer]'));
    }
    for (let i = 0; i < 50 && (await keptCount(P)) !== 0; i++) await P.waitForTimeout(100);
    expectTrue((await keptCount(P)) === 0, `nothing of the file kept after ${end}`);
    await P.context().close();
  });
}

await test('a file card with name, size and type, and its download', async () => {
  await A.locator('[data-testid=file-input]').setInputFiles(NOTE);
  await stateOf(A, '会议安排.txt', 'ready');
  await sendDraft(A, '');
  const card = B.locator('[data-testid=att-file]').last();
  await card.waitFor();
  const text = await card.textContent();
  expectTrue(text.includes('会议安排.txt') && /\d+ B/.test(text), `card: ${text}`);
  const [dl] = await Promise.all([B.waitForEvent('download'), card.locator('[data-testid=att-download]').click()]);
  expectTrue(dl.suggestedFilename() === '会议安排.txt', `download name: ${dl.suggestedFilename()}`);
  const p = await dl.path();
  expectTrue(fs.readFileSync(p, 'utf8') === fs.readFileSync(NOTE, 'utf8'), 'the bytes downloaded are the file');
});

await test('the viewer: opens the full image, arrows and a swipe turn, Escape closes, a swipe down closes on the phone', async () => {
  await B.locator('[data-testid=att-image]').first().click();
  const v = B.locator('[data-testid=viewer]');
  await v.waitFor();
  const img = B.locator('[data-testid=viewer-img]');
  await B.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
  expectTrue(/\/api\/v1\/files\/[^/?]+\?inline=1$/.test(await img.getAttribute('src')), 'the full image inline');
  await shot(B, '10-viewer-phone-zh');
  // two images in that message: arrows and a sideways swipe turn
  const first = await img.getAttribute('src');
  await B.keyboard.press('ArrowRight');
  await B.waitForFunction((s) => document.querySelector('[data-testid=viewer-img]').getAttribute('src') !== s, first);
  await B.evaluate(() => {
    const el = document.querySelector('[data-testid=viewer]');
    const t = (x) => new Touch({ identifier: 2, target: el, clientX: x, clientY: 400 });
    el.dispatchEvent(new TouchEvent('touchstart', { touches: [t(300)], changedTouches: [t(300)], bubbles: true }));
    el.dispatchEvent(new TouchEvent('touchend', { touches: [], changedTouches: [t(120)], bubbles: true }));
  });
  await B.waitForFunction((s) => document.querySelector('[data-testid=viewer-img]').getAttribute('src') === s, first);
  await B.keyboard.press('Escape');
  await v.waitFor({ state: 'detached' });
  await B.locator('[data-testid=att-image]').first().click();
  await v.waitFor();
  await B.evaluate(() => {
    const el = document.querySelector('[data-testid=viewer]');
    const t = (y) => new Touch({ identifier: 1, target: el, clientX: 195, clientY: y });
    el.dispatchEvent(new TouchEvent('touchstart', { touches: [t(300)], changedTouches: [t(300)], bubbles: true }));
    el.dispatchEvent(new TouchEvent('touchend', { touches: [], changedTouches: [t(520)], bubbles: true }));
  });
  await v.waitFor({ state: 'detached' });
});

await test('on the phone: attach through the picker, progress and state in the tray, no horizontal overflow', async () => {
  const [chooser] = await Promise.all([B.waitForEvent('filechooser'), B.locator('[data-testid=attach]').tap()]);
  expectTrue(chooser.isMultiple(), 'several files at once');
  await chooser.setFiles([fix('nometa.jpg'), fix('page_clean.png')]);
  await stateOf(B, 'nometa.jpg', ['ready', 'held', 'blocked']);
  await stateOf(B, 'page_clean.png', 'blocked');
  const over = await B.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expectTrue(over <= 0, `horizontal overflow: ${over}px`);
  await shot(B, '11-tray-phone-zh');
  await B.locator('[data-testid=messages]').evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await item(B, 'page_clean.png').locator('[data-testid=upload-remove]').tap();
  await sendDraft(B, '手机上传');
  await shot(B, '12-timeline-phone-zh');
  await shot(A, '13-timeline-desktop-zh');
});

await test('no English inside the Chinese interface of files', async () => {
  await A.locator('[data-testid=file-input]').setInputFiles([fix('gps.jpg'), fix('page_clean.png')]);
  await stateOf(A, 'page_clean.png', 'blocked');
  await stateOf(A, 'gps.jpg', 'ready');
  // units, abbreviations Chinese writes so, file extensions on icons; logins are data,
  // and so is what was found in a file (.excerpt, left out by visibleText)
  const ALLOW = new Set(['Cordon', 'Enter', 'Shift', 'English', 'B', 'KiB', 'MiB', 'GiB', 'OCR', 'PDF', 'Esc', 'JPG', 'PNG', 'TXT', 'BIN', 'jpg', 'png', 'txt', 'bin', 'alice', 'bob']);
  const bad = new Set();
  for (const p of [A, B]) for (const s of await visibleText(p)) for (const w of englishWords(s, ALLOW)) bad.add(`${w} in “${s.slice(0, 60)}”`);
  expectTrue(bad.size === 0, `English in zh-CN: ${[...bad].join('; ')}`);
  await shot(A, '14-tray-states-zh');
});

await test('English: the tray, the timeline and the viewer on desktop and phone', async () => {
  const E = await newPage('alice-en', { lang: 'en' });
  await login(E, 'alice');
  await openGroup(E);
  await E.locator('[data-testid=file-input]').setInputFiles([fix('gps.jpg'), fix('page_clean.png')]);
  await stateOf(E, 'page_clean.png', 'blocked');
  await stateOf(E, 'gps.jpg', 'ready');
  const txt = await item(E, 'page_clean.png').textContent();
  expectTrue(txt.includes('Cannot be sent'), `English blocked: ${txt}`);
  const gpsTxt = await item(E, 'gps.jpg').textContent();
  expectTrue(gpsTxt.includes('Location removed'), `English location removed: ${gpsTxt}`);
  await shot(E, '15-tray-desktop-en');
  const F = await newPage('bob-en', { phone: true, lang: 'en' });
  await login(F, 'bob');
  await openGroup(F);
  await F.locator('[data-testid=att-file]').last().waitFor();
  await shot(F, '16-timeline-phone-en');
  await F.locator('[data-testid=att-image]').first().tap();
  await F.locator('[data-testid=viewer]').waitFor();
  await shot(F, '17-viewer-phone-en');
  await F.keyboard.press('Escape');
  await E.locator('[data-testid=att-image]').first().click();
  await E.locator('[data-testid=viewer]').waitFor();
  await shot(E, '18-viewer-desktop-en');
  await E.keyboard.press('Escape');
});

await test('no script errors', async () => {
  expectTrue(errors.length === 0, errors.join('\n'));
});

fs.rmSync(FIX, { recursive: true, force: true });
await h.finish();
