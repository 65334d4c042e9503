// What external people send in, and reports (举报) in the web client
// (docs/WEB.md, "Inbound warnings and reports"): Playwright drives Debian's
// Chromium against a real `cordon serve`.
//
//  - an external contact sends a message with an IP-address link and a
//    justification; the internal recipient sees the warning banner over it
//    ("外部发来的链接可能不安全"), the link is plain text (not clickable)
//    until they acknowledge the risk, then a link that opens in a new tab
//    without the referrer; the external sender sees no banner;
//  - "举报" on the banner reports it in one step; the officer's console
//    lists the report (kind 举报) with the reporter, the note and the
//    reported text;
//  - "举报" on any message and on a member in the members dialog opens the
//    note dialog and sends the report;
//  - both languages; desktop and 390×844 phone screenshots; no English in
//    the Chinese screens' new words.
//
// usage: node inbound.mjs CORDON_EXE WEB_DIST_DIR WEB_SOURCE_DIR SHOTS_DIR
import path from 'node:path';
import { setup, expectTrue, PW, DESKTOP, PHONE } from './harness.mjs';

const h = await setup('inbound', process.argv.slice(2));
const { call, mkUser, test, log, SHOTS, base } = h;

const alice = await mkUser('alice', '王小丽');
await mkUser('officer', '赵保密', 'officer');
// an external contact
const xr = await call('POST', '/admin/users', { login: 'zhang', display_name: '张先生（外部）', external: true }, h.adminToken);
{
  const s = await call('POST', '/auth/login', { login: 'zhang', password: xr.password });
  await call('POST', '/auth/password', { old_password: xr.password, new_password: PW }, s.token);
}
const xs = await call('POST', '/auth/login', { login: 'zhang', password: PW });
const as = await call('POST', '/auth/login', { login: 'alice', password: PW });
const IP_LINK = 'http://203.0.113.7/login.php';
const direct = await call('POST', '/conversations', { kind: 'direct', member_ids: [alice.id] }, xs.token);
let n = 0;
const sendAs = (tok, cid, text, justification) => call('POST', `/conversations/${cid}/messages`,
  { client_id: `i${++n}`, text, ...(justification ? { justification } : {}) }, tok);
await sendAs(as.token, direct.id, '张先生您好，材料已收到。');
const phish = await sendAs(xs.token, direct.id, `官方通知：请于今日登录 ${IP_LINK} 核对账户信息`, '官方通知');
expectTrue(!JSON.stringify(phish).includes('inbound_warning'), 'the sender is not shown the warning');
await sendAs(xs.token, direct.id, '另外，你们那个案子现在进展到哪一步了？');

await h.launch();
const errors = h.errors;
const newPage = (name, viewport, lang) => h.newPage(name, { viewport, lang, touch: viewport.width < 500 });
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });

await test('the internal recipient sees the warning; the link opens only after acknowledging; one-step report', async () => {
  const A = await newPage('alice', DESKTOP, 'zh');
  await h.signIn(A, 'alice');
  await A.goto(`${base}/#/chat/${direct.id}`);
  const msg = A.locator(`[data-msg-id="${phish.message.id}"]`);
  const banner = msg.locator('[data-testid=inbound-warning]');
  await banner.waitFor();
  expectTrue((await banner.innerText()).includes('外部发来的链接可能不安全'), `banner: ${await banner.innerText()}`);
  // not clickable: no anchor, the link is plain text
  expectTrue(await msg.locator('a').count() === 0, 'no link before acknowledging');
  expectTrue((await msg.locator('[data-testid=unsafe-link]').innerText()) === IP_LINK, 'the link shown as text');
  await shot(A, 'zh-desktop-inbound-warning');
  await msg.locator('[data-testid=inbound-reveal]').click();
  const a = msg.locator('[data-testid=revealed-link]');
  await a.waitFor();
  expectTrue(await a.getAttribute('href') === IP_LINK, 'href');
  expectTrue(await a.getAttribute('target') === '_blank', 'opens in a new tab');
  expectTrue((await a.getAttribute('rel')).includes('noreferrer'), 'without the referrer');
  await shot(A, 'zh-desktop-inbound-revealed');
  // one step: 举报
  await msg.locator('[data-testid=inbound-report]').click();
  await A.locator('.notice', { hasText: '已举报给保密员' }).waitFor();
  await shot(A, 'zh-desktop-inbound-reported');
  // other messages of the external contact carry no banner but a 举报 action
  expectTrue(await A.locator('[data-testid=inbound-warning]').count() === 1, 'one banner');
  await A.context().close();
});

await test('the external sender sees no warning', async () => {
  const X = await newPage('zhang', PHONE, 'zh');
  await h.signIn(X, 'zhang');
  await X.goto(`${base}/#/chat/${direct.id}`);
  await X.locator(`[data-msg-id="${phish.message.id}"]`).waitFor();
  expectTrue(await X.locator('[data-testid=inbound-warning]').count() === 0, 'no banner for the sender');
  await X.context().close();
});

await test('report a message and a person with a note (phone, zh)', async () => {
  const A = await newPage('alice-phone', PHONE, 'zh');
  await h.signIn(A, 'alice');
  await A.goto(`${base}/#/chat/${direct.id}`);
  const last = A.locator('[data-testid=message]').last();
  await last.waitFor();
  await shot(A, 'zh-phone-inbound-warning');
  await last.locator('[data-testid=report-btn]').click();
  const dlg = A.locator('[data-testid=report-dialog]');
  await dlg.waitFor();
  expectTrue((await dlg.locator('[data-testid=report-quote]').innerText()).includes('案子'), 'the dialog quotes the message');
  expectTrue(await dlg.locator('[data-testid=report-send]').isDisabled(), 'a note is required');
  await dlg.locator('[data-testid=report-note]').fill('他一直打听我负责的案子');
  await shot(A, 'zh-phone-report-dialog');
  await dlg.locator('[data-testid=report-send]').click();
  await dlg.waitFor({ state: 'detached' });
  await A.locator('.notice', { hasText: '已举报给保密员' }).waitFor();
  // a person, from the members dialog
  await A.locator('[data-testid=members-btn]').click();
  const mem = A.locator('[data-testid=members-dialog]');
  await mem.locator('[data-testid=member-report]').first().click();
  const d2 = A.locator('[data-testid=report-dialog]');
  expectTrue((await d2.locator('[data-testid=report-user]').innerText()).includes('张先生'), 'names the person');
  await d2.locator('[data-testid=report-note]').fill('反复打听案件进展');
  await shot(A, 'zh-phone-report-person');
  await d2.locator('[data-testid=report-send]').click();
  await mem.locator('[data-testid=members-notice]').waitFor();
  await A.context().close();
});

await test('the officer lists the reports with the reporter, the note and the evidence', async () => {
  const reports = await call('GET', '/reports', undefined, (await call('POST', '/auth/login', { login: 'officer', password: PW })).token);
  expectTrue(reports.alerts.length === 3, `three reports: ${reports.alerts.length}`);
  const O = await newPage('officer', DESKTOP, 'zh');
  await h.signIn(O, 'officer');
  const note = reports.alerts.find((x) => x.note === '他一直打听我负责的案子');
  await O.goto(`${base}/#/console/alerts/${note.id}`);
  const det = O.locator('[data-testid=alert-detail]');
  await det.waitFor();
  expectTrue((await det.locator('[data-testid=alert-reporter]').innerText()).includes('王小丽'), 'reporter shown');
  expectTrue((await det.locator('[data-testid=alert-evidence]').innerText()).includes('案子现在进展'), 'evidence shown');
  expectTrue((await O.locator('[data-testid=alert-kind]').first().innerText()) === '举报', 'kind 举报 in the list');
  await shot(O, 'zh-desktop-console-report');
  await O.context().close();
  const P = await newPage('officer-phone', PHONE, 'zh');
  await h.signIn(P, 'officer');
  await P.goto(`${base}/#/console/alerts/${note.id}`);
  await P.locator('[data-testid=alert-detail]').waitFor();
  await shot(P, 'zh-phone-console-report');
  await P.context().close();
});

await test('English: the banner, the report dialog, the console', async () => {
  const A = await newPage('alice-en', DESKTOP, 'en');
  await h.signIn(A, 'alice');
  await A.goto(`${base}/#/chat/${direct.id}`);
  const banner = A.locator('[data-testid=inbound-warning]');
  await banner.waitFor();
  expectTrue((await banner.innerText()).includes('A link sent from outside may be unsafe'), await banner.innerText());
  await shot(A, 'en-desktop-inbound-warning');
  await A.locator('[data-testid=report-btn]').last().click();
  await A.locator('[data-testid=report-dialog]').waitFor();
  await A.locator('[data-testid=report-note]').fill('Keeps asking about my case');
  await shot(A, 'en-desktop-report-dialog');
  await A.context().close();
  const P = await newPage('alice-en-phone', PHONE, 'en');
  await h.signIn(P, 'alice');
  await P.goto(`${base}/#/chat/${direct.id}`);
  await P.locator('[data-testid=inbound-warning]').waitFor();
  await shot(P, 'en-phone-inbound-warning');
  await P.locator('[data-testid=inbound-reveal]').click();
  await P.locator('[data-testid=revealed-link]').waitFor();
  await shot(P, 'en-phone-inbound-revealed');
  await P.context().close();
  const O = await newPage('officer-en', PHONE, 'en');
  await h.signIn(O, 'officer');
  await O.goto(`${base}/#/console/alerts`);
  await O.locator('[data-testid=alert-kind]', { hasText: 'Report' }).first().waitFor();
  await shot(O, 'en-phone-console-reports');
  await O.context().close();
});

await test('no page errors', async () => {
  expectTrue(errors.length === 0, errors.join('\n'));
});
log('done');
await h.finish();
