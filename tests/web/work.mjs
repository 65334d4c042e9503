// What staff use a consumer chat for, in the browser (issue 16): scheduled
// reminders (定时提醒), burn-after-reading (阅后即焚), contact cards (名片)
// and the visible watermark — Playwright (playwright-core) driving Debian's
// Chromium against a real `cordon serve`, at desktop size and at 390×844
// with touch, in Chinese and in English.
//
//  - reminders: made in the dialog (listed, cancelled); the open list follows
//    another member's create, edit and cancel live; one made through the
//    API fires while the page is open: the banner and the card in the chat;
//  - burn: the sender sees no content; a recipient taps to open it once, the
//    pictures of a burn message too (placeholders until pressed, none in the
//    page in the background, the sender gets 404 for them); the
//    text shows only while pressed and never while the window is in the
//    background; it is gone after the visible time;
//  - cards: shared from the composer; the phone masked (138****5678) for a
//    colleague; "message" opens the 1:1 chat;
//  - the watermark (name, account, time) over the chat and the console;
//  - the console's user screen: an admin sets a work phone (a bad one is
//    refused and worded); a colleague's card shows it masked.
// Screenshots go to SHOTS_DIR.
//
// usage: node work.mjs CORDON_EXE WEB_DIST_DIR WEB_SOURCE_DIR SHOTS_DIR
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { setup, expectTrue, PW, DESKTOP, PHONE } from './harness.mjs';

const h = await setup('work', process.argv.slice(2));
const { base, mkUser, call, test, log, SHOTS } = h;
const alice = await mkUser('alice', '王小丽');
const bob = await mkUser('bob', '李大明');
const carol = await mkUser('carol', '张三');
await mkUser('olga', '赵保密', 'officer');
await call('PATCH', `/admin/users/${carol.id}`, { phone: '13812345678' }, h.adminToken);
const as = await call('POST', '/auth/login', { login: 'alice', password: PW });
let seq = 0;

await h.launch();
const errors = h.errors;
const newPage = (name, viewport, lang) => h.newPage(name, { viewport, lang, touch: viewport.width < 500, timeout: 12000 });
// signed in, and the conversation list has loaded
const login = (page, user) => h.signIn(page, user, { until: '[data-testid=conv-item]' });
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
async function openConv(page, id) {
  await page.goto(`${base}/#/chat/${id}`);
  await page.locator('[data-testid=conv-view]').waitFor();
}

// Two pictures for a burn-after-reading message (tus creation-with-upload through the API).
const FIX = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-web-work-fix-'));
const gen = spawnSync('/usr/bin/python3', ['-c', `
import sys, os
from PIL import Image, ImageDraw
for i, col in enumerate(((40, 110, 200), (30, 150, 90))):
    img = Image.new('RGB', (480, 360), col)
    d = ImageDraw.Draw(img)
    d.ellipse((140, 80, 340, 280), fill=(240, 240, 240))
    img.save(os.path.join(sys.argv[1], 'p%d.png' % i))
`, FIX], { encoding: 'utf8' });
if (gen.status !== 0) throw new Error(gen.stderr);
async function uploadPicture(token, conv, file) {
  const up = await h.upload(token, conv, file);
  if (up.state !== 'ready') throw new Error(`upload ${up.state}`);
  return up.file_id;
}

const SIZES = { desktop: DESKTOP, phone: PHONE };
const WORDS = {
  zh: { burnTap: '点击查看', burnImages: '2 张图片', hold: '按住查看', sent: '阅后即焚', masked: '138****5678', reminder: '定时提醒' },
  en: { burnTap: 'Tap to view', burnImages: '2 picture', hold: 'Press and hold', sent: 'burn-after-reading', masked: '138****5678', reminder: 'Reminder' },
};

for (const [size, viewport] of Object.entries(SIZES)) {
  for (const lang of ['zh', 'en']) {
    const tag = `${size}-${lang}`;
    const W = WORDS[lang];
    const group = await call('POST', '/conversations', { kind: 'group', title: lang === 'zh' ? `项目组${++seq}` : `Project ${++seq}`, member_ids: [bob.id, carol.id] }, as.token);
    const page = await newPage(tag, viewport, lang);
    await login(page, 'bob');
    const press = async (loc) => {
      const b = await loc.boundingBox();
      await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
      await page.mouse.down();
    };

    await test(`${tag}: a reminder made in the dialog is listed and cancelled`, async () => {
      await openConv(page, group.id);
      await page.locator('[data-testid=reminders-btn]').click();
      await page.locator('[data-testid=reminder-new]').click();
      await page.locator('[data-testid=reminder-text]').fill(lang === 'zh' ? '周五前提交周报' : 'Send the weekly report by Friday');
      await page.locator('[data-testid=reminder-repeat]').selectOption('workdays');
      await page.locator('[data-testid=reminder-target]').selectOption('all');
      await shot(page, `work-reminder-dialog-${tag}`);
      await page.locator('[data-testid=reminder-save]').click();
      await page.locator('[data-testid=reminder-item]').first().waitFor();
      await shot(page, `work-reminder-list-${tag}`);
      await page.locator('[data-testid=reminder-cancel]').first().click();
      await page.locator('[data-testid=reminder-item]').waitFor({ state: 'detached' });
      await page.locator('[data-testid=reminders-dialog] .dlg-x').click();
    });

    await test(`${tag}: the open reminders list follows another member's changes live`, async () => {
      await openConv(page, group.id);
      await page.locator('[data-testid=reminders-btn]').click();
      await page.locator('[data-testid=reminders-dialog]').waitFor();
      const text = lang === 'zh' ? `月底前交报销单 ${++seq}` : `Expenses by month end ${++seq}`;
      const r = await call('POST', `/conversations/${group.id}/reminders`, { text, at: Date.now() + 3600e3, tz: 'Asia/Shanghai', target: 'all' }, as.token);
      const item = page.locator('[data-testid=reminder-item]').filter({ hasText: text });
      await item.waitFor(); // no reload: reminder.created
      await shot(page, `work-reminder-live-${tag}`);
      const edited = `${text} !`;
      await call('PATCH', `/reminders/${r.reminder.id}`, { text: edited }, as.token);
      await page.locator('[data-testid=reminder-item]').filter({ hasText: edited }).waitFor(); // reminder.updated
      await call('DELETE', `/reminders/${r.reminder.id}`, undefined, as.token);
      await item.waitFor({ state: 'detached' }); // reminder.deleted
      await page.locator('[data-testid=reminders-dialog] .dlg-x').click();
    });

    await test(`${tag}: a reminder fires while the page is open: banner and card`, async () => {
      const text = lang === 'zh' ? `下午三点开会 ${++seq}` : `Meeting at three ${++seq}`;
      await call('POST', `/conversations/${group.id}/reminders`, { text, at: Date.now() + 1500, tz: 'Asia/Shanghai', target: 'members', member_ids: [bob.id] }, as.token);
      await page.locator('[data-testid=reminder-banner]').getByText(text).waitFor();
      const card = page.locator('[data-testid=reminder-card]').filter({ hasText: text });
      await card.waitFor();
      expectTrue((await card.textContent()).includes(W.reminder), 'the card names itself a reminder');
      await shot(page, `work-reminder-fired-${tag}`);
      await page.locator('[data-testid=reminder-banner] button').click();
      // the card and its reminder.due raise one banner: dismissed, it stays away
      await page.waitForTimeout(800);
      expectTrue((await page.locator('[data-testid=reminder-banner]').filter({ hasText: text }).count()) === 0, 'the banner came back');
    });

    await test(`${tag}: burn-after-reading: opened once, shown only while pressed and in front`, async () => {
      const dm = await call('POST', '/conversations', { kind: 'direct', member_ids: [bob.id] }, as.token);
      const secret = `${lang === 'zh' ? '保险柜密码' : 'vault'} ${Math.floor(Math.random() * 1e8)}`;
      await call('POST', `/conversations/${dm.id}/messages`, { client_id: `b-${tag}`, text: secret, burn: true }, as.token);
      await openConv(page, dm.id);
      const bubble = page.locator('[data-testid=burn-card]').last();
      await bubble.locator('[data-testid=burn-open]').waitFor();
      expectTrue(!(await page.content()).includes(secret), 'no content before opening');
      expectTrue((await bubble.textContent()).includes(W.burnTap), 'tap to view');
      await shot(page, `work-burn-closed-${tag}`);
      await bubble.locator('[data-testid=burn-open]').click();
      const txt = bubble.locator('[data-testid=burn-text]');
      await txt.waitFor();
      expectTrue((await txt.getAttribute('data-shown')) === 'false' && !(await page.content()).includes(secret), 'hidden until pressed');
      await page.bringToFront();
      await press(txt);
      await page.waitForFunction(() => document.querySelector('[data-testid=burn-text]')?.getAttribute('data-shown') === 'true');
      expectTrue((await txt.textContent()) === secret, 'shown while pressed');
      await shot(page, `work-burn-pressed-${tag}`);
      // the window goes to the background (another app, a screenshot tool): hidden at once
      await page.evaluate(() => {
        Object.defineProperty(document, 'hasFocus', { value: () => false, configurable: true });
        window.dispatchEvent(new Event('blur'));
      });
      await page.waitForFunction(() => document.querySelector('[data-testid=burn-text]')?.getAttribute('data-shown') === 'false');
      expectTrue(!(await page.content()).includes(secret), 'not in the page while in the background');
      await page.evaluate(() => {
        delete document.hasFocus;
        window.dispatchEvent(new Event('focus'));
      });
      await page.mouse.up();
      expectTrue((await txt.getAttribute('data-shown')) === 'false', 'hidden once released');
      // after the visible time (30 s by default) it is gone; here: reopening is refused
      const again = await call('POST', `/messages/${(await call('GET', `/conversations/${dm.id}/messages`, undefined, as.token)).messages[0].id}/open`, {}, (await call('POST', '/auth/login', { login: 'bob', password: PW })).token, false);
      expectTrue(again?.error?.code === 'burn_opened', `opened once: ${JSON.stringify(again)}`);
      // the sender's own view: no content either
      expectTrue(!(await page.content()).includes('undefined'), 'no undefined in the page');
    });

    await test(`${tag}: burn-after-reading with pictures: hidden until opened, shown only while pressed and in front`, async () => {
      const dm = await call('POST', '/conversations', { kind: 'direct', member_ids: [bob.id] }, as.token);
      const ids = [await uploadPicture(as.token, dm.id, path.join(FIX, 'p0.png')), await uploadPicture(as.token, dm.id, path.join(FIX, 'p1.png'))];
      await call('POST', `/conversations/${dm.id}/messages`, { client_id: `bi-${tag}`, burn: true, attachments: ids }, as.token);
      await openConv(page, dm.id);
      const bubble = page.locator('[data-testid=burn-card]').last();
      await bubble.locator('[data-testid=burn-open]').waitFor();
      expectTrue((await bubble.textContent()).includes(W.burnImages), `says how many: ${await bubble.textContent()}`);
      expectTrue(!(await page.content()).includes(ids[0]), 'no file id in the page before opening');
      await bubble.locator('[data-testid=burn-open]').click();
      await page.waitForFunction(() => document.querySelector('[data-testid=burn-images]')?.getAttribute('data-count') === '2');
      expectTrue((await page.locator('[data-testid=burn-image]').count()) === 0, 'no picture in the page until pressed');
      expectTrue((await page.locator('[data-testid=burn-image-hidden]').count()) === 2, 'two placeholders');
      await shot(page, `work-burn-images-closed-${tag}`);
      await page.bringToFront();
      const txt = bubble.locator('[data-testid=burn-text]');
      // pressed on the pictures themselves
      await press(bubble.locator('[data-testid=burn-images]'));
      await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=burn-image]')].filter((i) => i.complete && i.naturalWidth > 0).length === 2);
      await shot(page, `work-burn-images-pressed-${tag}`);
      await page.evaluate(() => {
        Object.defineProperty(document, 'hasFocus', { value: () => false, configurable: true });
        window.dispatchEvent(new Event('blur'));
      });
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=burn-image]').length === 0);
      await page.evaluate(() => {
        delete document.hasFocus;
        window.dispatchEvent(new Event('focus'));
      });
      await page.mouse.up();
      // the sender cannot fetch them any more
      const r = await fetch(`${base}/api/v1/files/${ids[0]}`, { headers: { Authorization: `Bearer ${as.token}` } });
      expectTrue(r.status === 404, `the sender fetches it: ${r.status}`);
    });

    await test(`${tag}: burn-after-reading from the composer: the sender sees no content`, async () => {
      await openConv(page, group.id);
      await page.locator('[data-testid=burn-toggle]').click();
      expectTrue((await page.locator('[data-testid=burn-toggle]').getAttribute('aria-pressed')) === 'true', 'toggle on');
      await page.locator('[data-testid=composer]').fill(`${lang === 'zh' ? '门禁' : 'pin'} ${tag} 4711`);
      await page.locator('[data-testid=send]').click();
      await page.locator('[data-testid=burn-sent]').last().waitFor();
      expectTrue(!(await page.locator('[data-testid=messages]').textContent()).includes(`${tag} 4711`), 'not shown to the sender');
      expectTrue((await page.locator('[data-testid=burn-sent]').last().textContent()).includes(W.sent), 'says what it was');
      await page.locator('[data-testid=burn-toggle]').click();
      await shot(page, `work-burn-sent-${tag}`);
    });

    await test(`${tag}: a contact card: phone masked, opens the 1:1 chat`, async () => {
      await openConv(page, group.id);
      await page.locator('[data-testid=card-btn]').click();
      await page.locator('[data-testid=card-dialog] [data-testid=pick-user][data-login=carol]').check();
      await page.locator('[data-testid=card-send]').click();
      const card = page.locator('[data-testid=contact-card]').last();
      await card.locator('[data-testid=card-phone]').waitFor();
      expectTrue((await card.locator('[data-testid=card-phone]').textContent()).includes(W.masked), 'masked phone');
      expectTrue((await card.locator('[data-testid=card-name]').textContent()) === '张三', 'the name');
      await shot(page, `work-card-${tag}`);
      await card.locator('[data-testid=card-chat]').click();
      await page.waitForFunction(() => /#\/chat\/\d+/.test(location.hash) && document.querySelector('[data-testid=conv-title]')?.textContent === '张三');
    });

    if (lang === 'zh') {
      await test(`${tag}: no English in the Chinese interface of these screens`, async () => {
        await openConv(page, group.id);
        const words = await page.evaluate(() => {
          const out = [];
          const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          for (let t; (t = w.nextNode());) {
            const el = t.parentElement;
            if (!el || el.closest('script, style, textarea') || !el.getClientRects().length) continue;
            out.push(t.textContent);
          }
          for (const el of document.querySelectorAll('[placeholder], [title], [aria-label]')) {
            for (const a of ['placeholder', 'title', 'aria-label']) if (el.getAttribute(a)) out.push(el.getAttribute(a));
          }
          return out.join(' ');
        });
        // logins are names; Cordon, English (the switch) and Enter/Shift (keys) are allowed
        const allow = new Set(['Cordon', 'English', 'Enter', 'Shift', 'bob', 'carol', 'alice']);
        const english = (words.replace(/@\w+/g, ' ').match(/[A-Za-z][A-Za-z'-]+/g) ?? []).filter((x) => !allow.has(x));
        expectTrue(english.length === 0, `English words: ${[...new Set(english)].join(', ')}`);
      });
    }

    await test(`${tag}: the watermark names the viewer, the account and the time`, async () => {
      const wm = page.locator('[data-testid=watermark]').first();
      const text = await wm.getAttribute('data-text');
      expectTrue(text.includes('李大明') && text.includes('bob') && /\d{4}-\d\d-\d\d \d\d:\d\d/.test(text), `watermark: ${text}`);
    });
    await page.context().close();
  }
}

await test('the officer console carries the watermark too', async () => {
  for (const [size, viewport] of Object.entries(SIZES)) {
    const page = await newPage(`console-${size}`, viewport, 'zh');
    await h.signIn(page, 'olga');
    await page.goto(`${base}/#/console/alerts`);
    const wm = page.locator('.console-wrap [data-testid=watermark]');
    await wm.waitFor({ state: 'attached' });
    const text = await wm.getAttribute('data-text');
    expectTrue(text.includes('赵保密') && text.includes('olga') && /\d\d:\d\d/.test(text), `console watermark: ${text}`);
    await shot(page, `work-console-watermark-${size}`);
    await page.context().close();
  }
});

// The console's user screen: an admin sets a colleague's work phone; a
// card shows it masked to a colleague. Both sizes, both languages.
const dave = await mkUser('dave', '陈大卫');
const admin = await call('POST', '/auth/login', { login: 'admin', password: PW });
const bobS = await call('POST', '/auth/login', { login: 'bob', password: PW });
let phoneN = 0;
for (const [size, viewport] of Object.entries(SIZES)) {
  for (const lang of ['zh', 'en']) {
    const tag = `${size}-${lang}`;
    await test(`${tag}: the console's user screen sets a work phone; a card masks it`, async () => {
      const page = await newPage(`phone-${tag}`, viewport, lang);
      try {
        await h.signIn(page, 'admin', { until: '[data-testid=conv-item], .console-wrap, [data-testid=conv-view], main' });
        await page.goto(`${base}/#/console/users`);
        const row = page.locator('[data-testid=user-row][data-login=dave]');
        const input = row.locator('[data-testid=user-phone]');
        await input.waitFor();
        // a bad number: the server refuses it, the client words it
        await input.fill('call me');
        await row.locator('[data-testid=user-phone-save]').click();
        await page.locator('[data-testid=users-msg].error').waitFor();
        const bad = await page.locator('[data-testid=users-msg]').textContent();
        expectTrue(lang === 'zh' ? bad.includes('电话号码') : bad.includes('phone number'), `worded: ${bad}`);
        const phone = `1391234${String(5600 + ++phoneN)}`;
        await input.fill(phone);
        await row.locator('[data-testid=user-phone-save]').click();
        await page.locator('[data-testid=users-msg].ok').waitFor();
        await shot(page, `work-console-phone-${tag}`);
        const listed = (await call('GET', '/admin/users', undefined, admin.token)).users.find((u) => u.login === 'dave');
        expectTrue(listed.phone === phone, `stored: ${listed.phone}`);
        const card = (await call('GET', `/users/${dave.id}/card`, undefined, bobS.token)).card;
        expectTrue(card.phone === `139****${phone.slice(-4)}` && card.phone_masked, `a colleague sees it masked: ${JSON.stringify(card)}`);
      } finally { await page.context().close(); }
    });
  }
}

await test('no page errors', async () => {
  expectTrue(errors.length === 0, errors.join('\n'));
});
log('done');
fs.rmSync(FIX, { recursive: true, force: true });
await h.finish();
