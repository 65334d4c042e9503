// Officers trace and contain a FILE in the console, and the dashboard's
// department dimension (docs/WEB.md): Playwright (playwright-core) drives
// Debian's Chromium against a real `cordon serve`.
//
//  - a file with a customer's phone number raises an alert naming the file;
//    it is forwarded, and someone else uploads the same bytes again;
//  - from the alert the officer opens the file's spread: every message
//    carrying it, the separate upload marked, totals in words;
//  - the officer removes every copy in one action: a member's open
//    conversation shows the neutral notice live; storage is emptied;
//  - the admin sets departments in the users screen; the dashboard charts
//    alerts by department and by conversation;
//  - 1280×800 and 390×844, Chinese and English, with no English words in
//    the Chinese screens.
// Screenshots go to SHOTS_DIR.
//
// usage: node trace_file.mjs CORDON_EXE WEB_DIST_DIR WEB_SOURCE_DIR SHOTS_DIR
// exit 77 (meson: skipped) when /usr/bin/chromium is missing.
import path from 'node:path';
import { setup, expectTrue, englishWords, visibleText, PW } from './harness.mjs';

const h = await setup('trace-file', process.argv.slice(2));
const { base, call, mkUser, log, SHOTS } = h;

const people = [['alice', '王小丽'], ['bob', '李大明'], ['carol', '张晓红'], ['dave', '陈志强']];
const u = {};
for (const [login, name] of people) u[login] = { ...(await mkUser(login, name)), token: (await call('POST', '/auth/login', { login, password: PW })).token };
await mkUser('officer', '赵保密', 'officer');

const group = async (owner, title, members) => call('POST', '/conversations', { kind: 'group', title, member_ids: members.map((x) => u[x].id) }, u[owner].token);
const g1 = await group('alice', '销售一组', ['bob']);
const g2 = await group('bob', '渠道群', ['carol', 'dave']);
const g3 = await group('carol', '外联群', ['dave']);

// A whole tus upload, then its inspection's end.
const b64 = (s) => Buffer.from(String(s)).toString('base64');
async function upload(who, convId, bytes, name) {
  const auth = { Authorization: `Bearer ${u[who].token}`, 'Tus-Resumable': '1.0.0' };
  const c = await fetch(`${base}/api/v1/uploads`, { method: 'POST', headers: { ...auth, 'Upload-Length': String(bytes.length), 'Upload-Metadata': `filename ${b64(name)},conversation_id ${b64(convId)}` } });
  expectTrue(c.status === 201, `upload create ${c.status}`);
  const id = c.headers.get('location').split('/').pop();
  const p = await fetch(`${base}/api/v1/uploads/${id}`, { method: 'PATCH', headers: { ...auth, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' }, body: bytes });
  expectTrue(p.status === 204, `upload patch ${p.status}`);
  for (let i = 0; i < 600; i++) {
    const r = await call('GET', `/uploads/${id}`, undefined, u[who].token);
    if (r.state !== 'uploading' && r.state !== 'inspecting') return r;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('inspection did not end');
}
let n = 0;
const sendFile = (who, cid, fid, text) => call('POST', `/conversations/${cid}/messages`, { client_id: `tf${++n}`, text, attachments: [fid] }, u[who].token);

const LIST = Buffer.from('客户名单\n张先生 13800138000\n李女士 13900139000\n');
const up1 = await upload('alice', g1.id, LIST, '客户名单.txt');
expectTrue(up1.state === 'ready' && up1.verdict === 'warn', `the list warns: ${JSON.stringify(up1)}`);
const m1 = (await sendFile('alice', g1.id, up1.file_id, '名单见附件')).message;
const m2 = (await call('POST', `/messages/${m1.id}/forward`, { conversation_ids: [g2.id] }, u.bob.token)).results[0].message;
const up2 = await upload('carol', g3.id, LIST, '名单副本.txt');
const m3 = (await sendFile('carol', g3.id, up2.file_id, '转给你')).message;
const alerts = await call('GET', `/alerts?conversation_id=${g1.id}`, undefined, h.adminToken);
const alert = alerts.alerts.find((a) => a.message_id === m1.id);
expectTrue(alert && alert.findings.some((f) => f.file?.id === up1.file_id), `an alert naming the file: ${JSON.stringify(alerts)}`);
for (const [login, dep] of [['alice', '销售部'], ['bob', '销售部'], ['carol', '市场部']]) {
  await call('PATCH', `/admin/users/${u[login].id}`, { department: dep }, h.adminToken);
}

// ---------------------------------------------------------------- browser
await h.launch();
const errors = h.errors;
const newPage = (name, viewport, lang) => h.newPage(name, { viewport, lang, dialogs: true });
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
// units of a size (binary units in both languages, uploads.ts) and the admin's
// own display name are data, not interface words
const ALLOW = new Set(['Cordon', 'English', 'alice', 'bob', 'carol', 'dave', 'officer', 'admin', 'Administrator', 'txt', 'B', 'KiB', 'MiB']);
const english = async (page) => englishWords((await visibleText(page)).join('\n'), ALLOW);

const test = h.test;
const O = await newPage('officer');
await h.signIn(O, 'officer');

await test('from the alert naming the file, the file\'s spread: every message carrying it, the other upload marked', async () => {
  await O.goto(`${base}/#/console/alerts/${alert.id}`);
  const files = O.locator('[data-testid=alert-files]');
  await files.waitFor();
  expectTrue((await files.textContent()).includes('客户名单.txt'), `files row: ${await files.textContent()}`);
  await O.locator('[data-testid=alert-file-spread]').click();
  await O.locator('[data-testid=spread-node]').nth(2).waitFor();
  expectTrue(await O.locator('[data-testid=spread-node]').count() === 3, 'three messages carry it');
  const totals = await O.locator('[data-testid=spread-totals]').textContent();
  expectTrue(totals.includes('3 条消息携带此文件') && totals.includes('2 次独立上传') && totals.includes('3 个会话'), `totals: ${totals}`);
  expectTrue((await O.locator('[data-testid=spread-file]').textContent()).includes('客户名单.txt'), 'the file named');
  expectTrue(await O.locator('[data-testid=spread-other-upload]').count() === 1, 'the separate upload marked');
  expectTrue((await O.locator('[data-testid=spread] h2').textContent()) === '文件扩散追踪', 'title');
  const convs = await O.locator('[data-testid=spread-conv]').allTextContents();
  for (const t of ['销售一组', '渠道群', '外联群']) expectTrue(convs.some((x) => x.includes(t)), `${t}: ${convs}`);
  const en = await english(O);
  expectTrue(en.length === 0, `English in the zh file spread: ${en.join('; ')}`);
  await shot(O, 'file-spread-desktop-zh');
});

for (const [lang, vp, tag] of [['zh', { width: 390, height: 844 }, 'phone-zh'], ['en', { width: 390, height: 844 }, 'phone-en'], ['en', { width: 1280, height: 800 }, 'desktop-en']]) {
  await test(`the file's spread at ${tag}`, async () => {
    const P = await newPage(`officer-${tag}`, vp, lang);
    await h.signIn(P, 'officer');
    await P.goto(`${base}/#/console/spread-file/${up1.file_id}/${alert.id}`);
    await P.locator('[data-testid=spread-node]').nth(2).waitFor();
    const title = await P.locator('[data-testid=spread] h2').textContent();
    expectTrue(title === (lang === 'zh' ? '文件扩散追踪' : 'Where this file went'), `title: ${title}`);
    if (lang === 'zh') {
      const en = await english(P);
      expectTrue(en.length === 0, `English in zh: ${en.join('; ')}`);
    } else {
      const t = await P.locator('[data-testid=spread-totals]').textContent();
      expectTrue(t.includes('3 messages carry it') && t.includes('2 separate uploads'), `totals: ${t}`);
    }
    const overflow = await P.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expectTrue(overflow <= 0, `page overflows by ${overflow}px`);
    await shot(P, `file-spread-${tag}`);
    await P.context().close();
  });
}

await test('the admin sets departments; the dashboard charts alerts by department and conversation', async () => {
  const A = await newPage('admin');
  await h.signIn(A, 'admin');
  await A.goto(`${base}/#/console/users`);
  const row = A.locator('[data-testid=user-row][data-login=dave]');
  await row.waitFor();
  await row.locator('[data-testid=user-dept]').fill('市场部');
  await row.locator('[data-testid=user-dept]').press('Enter');
  await A.locator('[data-testid=users-msg]').waitFor();
  expectTrue((await A.locator('[data-testid=users-msg]').textContent()).includes('已更新 dave 的部门'), 'saved');
  const me = await call('GET', '/admin/users', undefined, h.adminToken);
  expectTrue(me.users.find((x) => x.login === 'dave').department === '市场部', 'stored');
  const en = await english(A);
  expectTrue(en.length === 0, `English in the zh users screen: ${en.join('; ')}`);
  await shot(A, 'users-department-desktop-zh');
  await A.context().close();

  await O.goto(`${base}/#/console/dashboard`);
  await O.locator('[data-testid=chart-department]').waitFor();
  await O.locator('[data-testid=chart-group]').waitFor();
  const st = await call('GET', `/officer/stats?from=${Date.now() - 14 * 86400000}&to=${Date.now() + 1000}&by=department`, undefined, h.adminToken);
  expectTrue(st.by_department['销售部']?.count >= 2, `server counts by department: ${JSON.stringify(st.by_department)}`);
  const cap = await O.locator('[data-testid=chart-department] figcaption').textContent();
  expectTrue(cap === '按部门统计告警', `caption: ${cap}`);
  const en2 = await english(O);
  expectTrue(en2.length === 0, `English in the zh dashboard: ${en2.join('; ')}`);
  await shot(O, 'dashboard-department-desktop-zh');
  const P = await newPage('officer-dash-phone-en', { width: 390, height: 844 }, 'en');
  await h.signIn(P, 'officer');
  await P.goto(`${base}/#/console/dashboard`);
  await P.locator('[data-testid=chart-department]').waitFor();
  expectTrue((await P.locator('[data-testid=chart-group] figcaption').textContent()) === 'Conversations with most alerts', 'en caption');
  await shot(P, 'dashboard-department-phone-en');
  await P.context().close();
});

await test('one action removes every message carrying the file: the member sees it go live', async () => {
  const D = await newPage('dave');
  await h.signIn(D, 'dave');
  await D.goto(`${base}/#/chat/${g2.id}`);
  await D.locator(`[data-msg-id="${m2.id}"]`).waitFor();
  await O.goto(`${base}/#/console/spread-file/${up1.file_id}/${alert.id}`);
  await O.locator('[data-testid=spread-node]').nth(2).waitFor();
  await O.locator('[data-testid=spread-reason]').fill('客户名单外泄，全部撤回');
  await O.locator('[data-testid=spread-remove-all]').click();
  await O.locator('[data-testid=spread-done]').waitFor();
  const done = await O.locator('[data-testid=spread-done]').textContent();
  expectTrue(done.includes('已撤回 3 份副本') && done.includes('文件及缩略图已从存储中彻底删除'), `done: ${done}`);
  await D.locator(`[data-testid=contained][data-msg-id="${m2.id}"]`).waitFor();
  const notice = await D.locator(`[data-msg-id="${m2.id}"]`).textContent();
  expectTrue(notice.includes('此消息已被保密管理员撤回'), `notice: ${notice}`);
  expectTrue(!(await D.locator('body').textContent()).includes('客户名单.txt'), 'the file is gone from the member\'s screen');
  await O.locator('[data-testid=spread-node][data-state=removed]').nth(2).waitFor();
  const dl = await fetch(`${base}/api/v1/files/${up2.file_id}`, { headers: { Authorization: `Bearer ${u.dave.token}` } });
  expectTrue(dl.status === 404, `the other upload is gone too: ${dl.status}`);
  const en = [...await english(O), ...await english(D)];
  expectTrue(en.length === 0, `English in zh: ${en.join('; ')}`);
  await shot(O, 'file-spread-removed-desktop-zh');
  await shot(D, 'member-file-removed-desktop-zh');
  const audit = await call('GET', '/audit?limit=1000', undefined, h.adminToken);
  expectTrue(audit.entries.some((e) => e.event === 'officer.contain' && e.detail.file === up1.file_id && e.detail.changed.length === 3), 'audited');
  expectTrue(m3.id > 0, 'the separate upload was a message of its own');
});

await test('no script errors in any page', async () => {
  expectTrue(errors.length === 0, errors.join('\n'));
});
log('done');
await h.finish();
