// 识别文字 in the browser (issue 16, "Local text recognition"): Playwright
// (playwright-core) driving Debian's Chromium against a real `cordon serve`,
// at 1280×800 and at 390×844 with touch, in Chinese and in English.
//
//  - a picture in a chat: the viewer's "Recognise text" opens a sheet with
//    the text the server read; it can be copied;
//  - a marked page (核心商密, held by the default policy): the text shows,
//    the sheet says it stays in the app, offers no copy, and the browser's
//    copy is refused;
//  - a photo attached to the draft just for this: the tray's "Recognise
//    text" reads it without sending anything;
//  - no English inside the Chinese sheet.
// Screenshots go to SHOTS_DIR.
//
// usage: node ocr.mjs CORDON_EXE WEB_DIST_DIR WEB_SOURCE_DIR SHOTS_DIR
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { setup, expectTrue, PW, DESKTOP, PHONE, englishWords } from './harness.mjs';

const h = await setup('ocr', process.argv.slice(2), { limitMs: 290000 });
const { base, mkUser, call, test, log, SHOTS } = h;

const FIX = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-web-ocr-fix-'));
const gen = spawnSync('/usr/bin/python3', ['-c', `
import sys, os
from PIL import Image, ImageDraw, ImageFont
f = ImageFont.truetype('/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc', 30)
def page(name, lines, h=320):
    img = Image.new('RGB', (900, h), 'white')
    d = ImageDraw.Draw(img)
    for i, s in enumerate(lines):
        d.text((40, 40 + 70 * i), s, font=f, fill='black')
    img.save(os.path.join(sys.argv[1], name))
page('notice.png', ['周五下午三点在二楼会议室开会', '请带上本季度的工作总结'])
page('commercial.png', ['核心商密', '新产品定价策略（草案）', '第一季度价格上调百分之五'])
page('note.png', ['报销单据请于月底前交到财务部'], 200)
`, FIX], { encoding: 'utf8' });
if (gen.status !== 0) throw new Error(gen.stderr);
const fix = (n) => path.join(FIX, n);
const norm = (s) => s.replace(/\s+/g, '');

// A picture sent by `token` into conversation `conv` (tus creation-with-upload, then a message).
async function sendPicture(token, conv, file) {
  const up = await h.upload(token, conv, file);
  const body = { client_id: `ocr-${up.id}`, attachments: [up.file_id] };
  if (up.state === 'held') body.justification = '项目组内部讨论定价，仅限本组';
  const m = await call('POST', `/conversations/${conv}/messages`, body, token);
  return m.message;
}

await h.launch();
const errors = h.errors;
const newPage = (name, viewport, lang) => h.newPage(name, { viewport, lang, touch: viewport.width < 500, timeout: 30000 });
// signed in, and the conversation list has loaded
const login = (page, user) => h.signIn(page, user, { until: '[data-testid=conv-item]' });
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
async function openConv(page, id) {
  await page.goto(`${base}/#/chat/${id}`);
  await page.locator('[data-testid=conv-view]').waitFor();
}
// the sheet's words, for the no-English check (the OCR'd text is data)
const ALLOW = new Set();

const SIZES = { desktop: DESKTOP, phone: PHONE };
let n = 0;
for (const [size, viewport] of Object.entries(SIZES)) {
  for (const lang of ['zh', 'en']) {
    const tag = `${size}-${lang}`;
    n++;
    // users of their own: each reads a few pictures (the per-user limit is 6 a minute)
    const alice = await mkUser(`alice${n}`, '王小丽');
    const bob = await mkUser(`bob${n}`, '李大明');
    const as = await call('POST', '/auth/login', { login: alice.login, password: PW });
    const conv = await call('POST', '/conversations', { kind: 'group', title: lang === 'zh' ? `识别${n}` : `OCR ${n}`, member_ids: [bob.id] }, as.token);
    const notice = await sendPicture(as.token, conv.id, fix('notice.png'));
    const marked = await sendPicture(as.token, conv.id, fix('commercial.png'));
    const page = await newPage(tag, viewport, lang);
    await login(page, bob.login);
    await openConv(page, conv.id);

    await test(`${tag}: the viewer's recognise-text shows the picture's text, which can be copied`, async () => {
      await page.locator(`[data-testid=att-image][data-file-id="${notice.attachments[0].id}"]`).click();
      await page.locator('[data-testid=viewer]').waitFor();
      await page.locator('[data-testid=ocr-btn]').click();
      const text = page.locator('[data-testid=ocr-text]');
      await text.waitFor({ timeout: 60000 });
      const got = norm(await text.innerText());
      expectTrue(got.includes('二楼会议室开会'), `the text: ${got}`);
      expectTrue(await page.locator('[data-testid=ocr-copy]').isVisible(), 'a copy button');
      expectTrue(!(await page.locator('[data-testid=ocr-kept]').count()), 'no restriction');
      if (lang === 'zh') {
        // the sheet's own words, without the picture's text and file name (data)
        const own = await page.locator('[data-testid=ocr-sheet]').evaluate((el) => {
          const c = el.cloneNode(true);
          c.querySelectorAll('.ocr-text, .ocr-name').forEach((x) => x.remove());
          return c.textContent + ' ' + [...c.querySelectorAll('[aria-label]')].map((x) => x.getAttribute('aria-label')).join(' ');
        });
        const words = englishWords(own, ALLOW);
        expectTrue(!words.length, `English in the Chinese sheet: ${words}`);
      }
      await shot(page, `ocr-viewer-${tag}`);
      // Escape closes the sheet first, then the viewer
      await page.keyboard.press('Escape');
      await page.locator('[data-testid=ocr-sheet]').waitFor({ state: 'detached' });
      expectTrue(await page.locator('[data-testid=viewer]').isVisible(), 'the viewer stays open');
      await page.keyboard.press('Escape');
      await page.locator('[data-testid=viewer]').waitFor({ state: 'detached' });
    });

    await test(`${tag}: a marked page's text is shown but kept in the app (no copy)`, async () => {
      await page.locator(`[data-testid=att-image][data-file-id="${marked.attachments[0].id}"]`).click();
      await page.locator('[data-testid=ocr-btn]').click();
      await page.locator('[data-testid=ocr-kept]').waitFor({ timeout: 60000 });
      const got = norm(await page.locator('[data-testid=ocr-text]').innerText());
      expectTrue(got.includes('新产品定价策略'), `the text: ${got}`);
      expectTrue(!(await page.locator('[data-testid=ocr-copy]').count()), 'no copy button');
      const refused = await page.locator('[data-testid=ocr-text]').evaluate((el) => {
        const ev = new Event('copy', { bubbles: true, cancelable: true });
        el.dispatchEvent(ev);
        return ev.defaultPrevented && getComputedStyle(el).userSelect === 'none';
      });
      expectTrue(refused, 'the browser copy is refused and the text cannot be selected');
      await shot(page, `ocr-kept-${tag}`);
      await page.locator('[data-testid=ocr-close]').click();
      await page.keyboard.press('Escape');
      await page.locator('[data-testid=viewer]').waitFor({ state: 'detached' });
    });

    await test(`${tag}: a photo attached just for this is read in the tray, nothing sent`, async () => {
      const before = await page.locator('[data-testid=message]').count();
      await page.locator('[data-testid=file-input]').setInputFiles(fix('note.png'));
      await page.locator('[data-testid=upload-item][data-state=ready]').waitFor({ timeout: 60000 });
      await page.locator('[data-testid=upload-tray] [data-testid=ocr-btn]').click();
      const text = page.locator('[data-testid=ocr-text]');
      await text.waitFor({ timeout: 60000 });
      expectTrue(norm(await text.innerText()).includes('报销单据'), `the text: ${await text.innerText()}`);
      await shot(page, `ocr-tray-${tag}`);
      await page.locator('[data-testid=ocr-close]').click();
      await page.locator('[data-testid=upload-remove]').click();
      await page.locator('[data-testid=upload-tray]').waitFor({ state: 'detached' });
      expectTrue((await page.locator('[data-testid=message]').count()) === before, 'nothing was sent');
    });
    await page.context().close();
  }
}

await test('no page errors', async () => expectTrue(!errors.length, errors.join('\n')));
fs.rmSync(FIX, { recursive: true, force: true });
log('done');
await h.finish();
