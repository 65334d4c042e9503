// The text the guard read in a file, for the officer reviewing its alert
// (docs/WEB.md, console; docs/FILES.md, "Files in chat"): Playwright drives
// Debian's Chromium against a real `cordon serve`.
//
//  - a member uploads a document marked 机密★10年 (tus) and tries to send
//    it: blocked, an alert names the file;
//  - the officer opens the alert: a "涉及的文件" section names the file
//    with its type and size; "查看识别出的文字" shows the text read in it,
//    part by part, and the viewing is audited (file.text);
//  - a PDF sent to the group shows its first page above its file card (the
//    server renders it in the sandboxed worker);
//  - both languages; desktop and 390×844 phone screenshots; no English in
//    the Chinese section.
//
// usage: node filetext.mjs CORDON_EXE WEB_DIST_DIR WEB_SOURCE_DIR SHOTS_DIR
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { setup, expectTrue, englishWords, visibleText, PW, DESKTOP, PHONE } from './harness.mjs';

const h = await setup('filetext', process.argv.slice(2));
const { call, mkUser, test, log, SHOTS, base } = h;

const alice = await mkUser('alice', '王小丽');
const bob = await mkUser('bob', '李明');
await mkUser('officer', '赵保密', 'officer');
const as = await call('POST', '/auth/login', { login: 'alice', password: PW });
const os_ = await call('POST', '/auth/login', { login: 'officer', password: PW });
const conv = await call('POST', '/conversations', { kind: 'group', title: '项目组', member_ids: [bob.id] }, as.token);

// a whole tus upload, then the end of its inspection
const b64 = (s) => Buffer.from(String(s)).toString('base64');
async function upload(token, convId, bytes, name) {
  const auth = { Authorization: `Bearer ${token}`, 'Tus-Resumable': '1.0.0' };
  const c = await fetch(`${base}/api/v1/uploads`, {
    method: 'POST',
    headers: { ...auth, 'Upload-Length': String(bytes.length), 'Upload-Metadata': `filename ${b64(name)},conversation_id ${b64(convId)}` },
  });
  expectTrue(c.status === 201, `upload: ${c.status}`);
  const id = c.headers.get('location').split('/').pop();
  const p = await fetch(`${base}/api/v1/uploads/${id}`, {
    method: 'PATCH', body: bytes,
    headers: { ...auth, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' },
  });
  expectTrue(p.status === 204, `patch: ${p.status}`);
  for (let i = 0; i < 600; i++) {
    const u = await call('GET', `/uploads/${id}`, undefined, token);
    if (u.state !== 'uploading' && u.state !== 'inspecting') return u;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('inspection did not end');
}
const up = await upload(as.token, conv.id, Buffer.from('机密★10年\n关于二号项目的安排\n下周一开始施工。\n'), '安排.txt');
expectTrue(up.state === 'blocked', JSON.stringify(up));
const refused = await call('POST', `/conversations/${conv.id}/messages`, { client_id: 'ft1', text: '看一下', attachments: [up.file_id] }, as.token, false);
expectTrue(refused.error?.code === 'attachment_blocked', JSON.stringify(refused));
const alerts = await call('GET', `/alerts?conversation_id=${conv.id}`, undefined, os_.token);
const alert = alerts.alerts.find((a) => a.findings.some((f) => f.file?.id === up.file_id));
expectTrue(alert, JSON.stringify(alerts));
expectTrue(alert.category === 'marking', `the file alert's category: ${alert.category}`);

// a clean one-page PDF with a red band and a title, sent to the group
const pdfPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-ft-')), 'report.pdf');
const gen = spawnSync('/usr/bin/python3', ['-c', `
import cairo, sys
s = cairo.PDFSurface(sys.argv[1], 595, 842)
cr = cairo.Context(s)
cr.set_source_rgb(0.8, 0, 0); cr.rectangle(0, 0, 595, 160); cr.fill()
cr.set_source_rgb(0, 0, 0); cr.select_font_face('WenQuanYi Zen Hei'); cr.set_font_size(28)
cr.move_to(72, 260); cr.show_text('季度工作报告')
cr.set_font_size(14)
for i in range(20):
    cr.move_to(72, 320 + 22 * i); cr.show_text('各项工作按计划推进，进展顺利。')
cr.show_page(); s.finish()
`, pdfPath], { encoding: 'utf8' });
expectTrue(gen.status === 0, gen.stderr);
const pdfUp = await upload(as.token, conv.id, fs.readFileSync(pdfPath), '季度报告.pdf');
expectTrue(pdfUp.state === 'ready', JSON.stringify(pdfUp));
const pdfMsg = await call('POST', `/conversations/${conv.id}/messages`, { client_id: 'ft2', text: '季度报告', attachments: [pdfUp.file_id] }, as.token);
expectTrue(pdfMsg.message.attachments[0].thumbnail === true, JSON.stringify(pdfMsg.message.attachments));

const browser = await h.launch();
const newPage = (name, viewport, lang) => h.newPage(name, { viewport, lang, touch: viewport.width < 500, timeout: 15000 });
const login = (page, user) => h.signIn(page, user);
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

for (const [lang, viewport, tag] of [['zh', DESKTOP, 'desktop'], ['zh', PHONE, 'phone'], ['en', DESKTOP, 'desktop'], ['en', PHONE, 'phone']]) {
  await test(`${lang} ${tag}: the alert names the file; its text is shown on request`, async () => {
    const O = await newPage(`officer-${lang}-${tag}`, viewport, lang);
    await login(O, 'officer');
    await O.goto(`${base}/#/console/alerts/${alert.id}`);
    const det = O.locator('[data-testid=alert-detail]');
    await det.waitFor();
    const file = det.locator('[data-testid=alert-file]');
    await file.waitFor();
    expectTrue((await file.locator('[data-testid=alert-file-name]').innerText()) === '安排.txt', 'the file is named');
    // the alert's category is the file's finding's (a marking), worded in the page's language
    const cat = (await det.locator('[data-testid=alert-category]').innerText()).trim();
    expectTrue(cat === (lang === 'zh' ? '密级标志' : 'Classification marking'), `the alert's category: ${cat}`);
    await file.locator('[data-testid=alert-file-text-open]').click();
    const txt = file.locator('[data-testid=alert-file-text]');
    await txt.waitFor();
    const shown = await txt.innerText();
    expectTrue(shown.includes('机密★10年') && shown.includes('下周一开始施工'), `the text: ${shown}`);
    await txt.scrollIntoViewIfNeeded();
    await shot(O, `${lang}-${tag}-alert-file-text`);
    if (lang === 'zh') {
      const words = (await visibleText(O)).flatMap((s) => englishWords(s, new Set(['OCR', 'MiB', 'KiB', 'B', 'txt'])));
      const section = await file.innerText();
      const own = words.filter((w) => section.includes(w));
      expectTrue(own.length === 0, `English in the Chinese file section: ${own.join(', ')}`);
    } else {
      expectTrue((await file.innerText()).includes('Show the text read in it') === false && shown.includes('audit log'), 'English words');
    }
    await O.context().close();
  });
}

for (const [lang, viewport, tag] of [['zh', DESKTOP, 'desktop'], ['zh', PHONE, 'phone'], ['en', PHONE, 'phone']]) {
  await test(`${lang} ${tag}: a PDF's first page above its card`, async () => {
    const B = await newPage(`bob-${lang}-${tag}`, viewport, lang);
    await login(B, 'bob');
    await B.goto(`${base}/#/chat/${conv.id}`);
    const card = B.locator(`[data-testid=att-file][data-file-id="${pdfUp.file_id}"]`);
    await card.waitFor();
    const img = card.locator('[data-testid=att-preview]');
    await img.waitFor();
    await B.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
    const w = await img.evaluate((el) => el.naturalWidth);
    expectTrue(w > 100 && w <= 320, `preview width ${w}`);
    await card.scrollIntoViewIfNeeded();
    await shot(B, `${lang}-${tag}-pdf-preview`);
    await B.context().close();
  });
}

await test('each viewing is audited (file.text)', async () => {
  const audit = await call('GET', '/audit?limit=200', undefined, os_.token);
  const n = audit.entries.filter((e) => e.event === 'file.text' && e.target === `file:${up.file_id}`).length;
  expectTrue(n === 4, `file.text audited four times: ${n}`);
});

await test('no page errors', async () => {
  expectTrue(h.errors.length === 0, h.errors.join('\n'));
});
log('done');
await h.finish();
