// The officers' compliance export in the console (docs/WEB.md): Playwright
// (playwright-core) drives Debian's Chromium against a real `cordon serve`.
//
//  - from an alert's conversation the officer opens the export prefilled,
//    is refused without a reason, then downloads the JSONL: every message
//    of the conversation, the recalled one without its text, audit lines;
//  - a user's messages as an mbox, the user chosen from the directory;
//  - the export is audited (officer.export) with the stated reason;
//  - 1280×800 and 390×844, Chinese and English, with no English words in
//    the Chinese screens.
// Screenshots go to SHOTS_DIR.
//
// usage: node export.mjs CORDON_EXE WEB_DIST_DIR WEB_SOURCE_DIR SHOTS_DIR
// exit 77 (meson: skipped) when /usr/bin/chromium is missing.
import fs from 'node:fs';
import path from 'node:path';
import { setup, expectTrue, englishShown, PW } from './harness.mjs';

const h = await setup('export', process.argv.slice(2));
const { base, call, mkUser, log, SHOTS } = h;

const u = {};
for (const [login, name] of [['alice', '王小丽'], ['bob', '李大明']]) u[login] = { ...(await mkUser(login, name)), token: (await call('POST', '/auth/login', { login, password: PW })).token };
await mkUser('officer', '赵保密', 'officer');
const g = await call('POST', '/conversations', { kind: 'group', title: '采购群', member_ids: [u.bob.id] }, u.alice.token);
let n = 0;
const send = (who, text) => call('POST', `/conversations/${g.id}/messages`, { client_id: `x${++n}`, text }, u[who].token);
await send('alice', '下周一上午十点开会讨论报价');
await send('bob', '好的，我准备好材料');
const gone = (await send('alice', '这条消息稍后撤回')).message;
await call('POST', `/messages/${gone.id}/recall`, {}, u.alice.token);
await send('alice', '客户的手机号是13800138000，请联系');
const adm = await call('GET', `/alerts?conversation_id=${g.id}`, undefined, h.adminToken);
const alert = adm.alerts[0];
expectTrue(alert, `an alert in the conversation: ${JSON.stringify(adm)}`);

await h.launch();
const errors = h.errors;
const newPage = (name, viewport, lang) => h.newPage(name, { viewport, lang, downloads: true });
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
const ALLOW = new Set(['Cordon', 'English', 'JSON', 'Lines', 'jsonl', 'mbox', 'alice', 'bob', 'officer', 'admin']);
const englishIn = (page) => englishShown(page, ALLOW);
async function download(page) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=export-submit]').click()]);
  const file = path.join(SHOTS, d.suggestedFilename());
  await d.saveAs(file);
  return { name: d.suggestedFilename(), text: fs.readFileSync(file, 'utf8') };
}

const test = h.test;
const O = await newPage('officer');
await h.signIn(O, 'officer');

await test('from an alert, export the conversation as JSONL with a reason', async () => {
  await O.goto(`${base}/#/console/alerts/${alert.id}`);
  await O.locator('[data-testid=alert-export]').click();
  await O.locator('[data-testid=export]').waitFor();
  expectTrue(await O.locator('[data-testid=export-conversation]').inputValue() === String(g.id), 'prefilled conversation');
  await O.locator('[data-testid=export-submit]').click();
  const e = await O.locator('[data-testid=export-error]').textContent();
  expectTrue(e.includes('理由'), `refused without a reason: ${e}`);
  await O.locator('[data-testid=export-reason]').fill('合规抽查 2026 年第四季度');
  const english = await englishIn(O);
  expectTrue(english.length === 0, `English in zh: ${english.join('; ')}`);
  await shot(O, 'export-desktop-zh');
  const f = await download(O);
  expectTrue(/^cordon-export-conversation-\d+\.jsonl$/.test(f.name), `file name ${f.name}`);
  const lines = f.text.split('\n').filter((x) => x).map((x) => JSON.parse(x));
  const msgs = lines.filter((x) => x.type === 'message');
  expectTrue(msgs.length === 4, `four messages: ${msgs.length}`);
  expectTrue(msgs[2].state === 'recalled' && msgs[2].text === null && !f.text.includes('稍后撤回'), 'recalled without text');
  expectTrue(lines.some((x) => x.type === 'audit'), 'audit lines');
  const done = await O.locator('[data-testid=export-done]').textContent();
  expectTrue(done.includes('4 条消息'), `done: ${done}`);
  await shot(O, 'export-done-desktop-zh');
  const audit = await call('GET', '/audit?limit=1000', undefined, h.adminToken);
  expectTrue(audit.entries.some((x) => x.event === 'officer.export' && x.detail.reason === '合规抽查 2026 年第四季度'), 'audited');
});

await test('a user\'s messages as an mbox, the user chosen from the directory', async () => {
  await O.goto(`${base}/#/console/export`);
  await O.locator('[data-testid=export-kind-user]').check();
  await O.locator('[data-testid=export-user]').selectOption(String(u.bob.id));
  await O.locator('[data-testid=export-format-eml]').check();
  await O.locator('[data-testid=export-reason]').fill('人事调查');
  const f = await download(O);
  expectTrue(f.name.endsWith('.mbox'), f.name);
  expectTrue((f.text.match(/^X-Cordon-Message-Id:/gm) || []).length === 1, 'one message by bob');
  expectTrue(/^Subject: =\?utf-8\?b\?/im.test(f.text), 'encoded-words for Chinese headers');
  const done = await O.locator('[data-testid=export-done]').textContent();
  expectTrue(done.includes('1 封消息邮件'), `done: ${done}`);
  await shot(O, 'export-user-desktop-zh');
});

for (const [lang, vp, tag] of [['zh', { width: 390, height: 844 }, 'phone-zh'], ['en', { width: 390, height: 844 }, 'phone-en'], ['en', { width: 1280, height: 800 }, 'desktop-en']]) {
  await test(`the export form at ${tag}`, async () => {
    const P = await newPage(`officer-${tag}`, vp, lang);
    await h.signIn(P, 'officer');
    await P.goto(`${base}/#/console/export/conversation/${g.id}`);
    await P.locator('[data-testid=export]').waitFor();
    const title = await P.locator('[data-testid=export] h2').textContent();
    expectTrue(title === (lang === 'zh' ? '合规导出' : 'Compliance export'), `title: ${title}`);
    if (lang === 'zh') {
      const english = await englishIn(P);
      expectTrue(english.length === 0, `English in zh: ${english.join('; ')}`);
    }
    await P.locator('[data-testid=export-reason]').fill(lang === 'zh' ? '手机端导出' : 'phone export');
    const f = await download(P);
    expectTrue(f.text.includes('"type":"export"'), 'downloaded');
    const overflow = await P.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expectTrue(overflow <= 0, `page overflows by ${overflow}px`);
    await shot(P, `export-${tag}`);
  });
}

await test('no script errors in any page', async () => {
  expectTrue(errors.length === 0, errors.join('\n'));
});
log('done');
await h.finish();
