// Officers trace and contain in the console (docs/WEB.md): Playwright
// (playwright-core) drives Debian's Chromium against a real `cordon serve`.
//
//  - from an alert on a forwarded copy, the officer opens the spread: a tree
//    of every copy (a chain down a column, branches indented) with its
//    conversation by name, forwarder, readers;
//  - the officer holds every copy for review, restores them, then removes
//    them all with a reason: a member's open conversation shows the neutral
//    notice live, in Chinese;
//  - the conversation context around an alert opens only with a reason;
//  - 1280×800 and 390×844, Chinese and English, with no English words in
//    the Chinese screens.
// Screenshots go to SHOTS_DIR.
//
// usage: node trace.mjs CORDON_EXE WEB_DIST_DIR WEB_SOURCE_DIR SHOTS_DIR
// exit 77 (meson: skipped) when /usr/bin/chromium is missing.
import path from 'node:path';
import { setup, expectTrue, englishShown, PW } from './harness.mjs';

const h = await setup('trace', process.argv.slice(2));
const { base, call, mkUser, log, SHOTS } = h;

const people = [['alice', '王小丽'], ['bob', '李大明'], ['carol', '张晓红'], ['dave', '陈志强'], ['erin', '刘芳']];
const u = {};
for (const [login, name] of people) u[login] = { ...(await mkUser(login, name)), token: (await call('POST', '/auth/login', { login, password: PW })).token };
await mkUser('officer', '赵保密', 'officer');

// A chain of groups, each forward by a member of both, and one branch:
// 研发一组 → 研发二组 → 采购群 → 外包对接群, and 研发二组 → 财务群.
const group = async (owner, title, members) => call('POST', '/conversations', { kind: 'group', title, member_ids: members.map((x) => u[x].id) }, u[owner].token);
const g1 = await group('alice', '研发一组', ['bob', 'carol']);
const g2 = await group('bob', '研发二组', ['carol', 'dave']);
const g3 = await group('carol', '采购群', ['dave', 'erin']);
const g4 = await group('dave', '外包对接群', ['erin', 'alice']);
const g5 = await group('bob', '财务群', ['erin']);
let n = 0;
const send = (who, cid, text) => call('POST', `/conversations/${cid}/messages`, { client_id: `t${++n}`, text }, u[who].token);
await send('alice', g1.id, '今天下午的评审改到四点');
const orig = (await send('alice', g1.id, '客户的手机号是13800138000，图纸见附件说明')).message;
const fwd = async (who, mid, cid) => (await call('POST', `/messages/${mid}/forward`, { conversation_ids: [cid] }, u[who].token)).results[0].message;
const c2 = await fwd('bob', orig.id, g2.id);
const c3 = await fwd('carol', c2.id, g3.id);
const c4 = await fwd('dave', c3.id, g4.id);
await fwd('bob', c2.id, g5.id);
await call('POST', `/conversations/${g3.id}/read`, { message_id: c3.id }, u.erin.token);
await call('POST', `/conversations/${g2.id}/read`, { message_id: c2.id }, u.dave.token);
const adm = await call('GET', `/alerts?conversation_id=${g4.id}`, undefined, h.adminToken);
const alert = adm.alerts.find((a) => a.message_id === c4.id);
expectTrue(alert, `an alert on the forwarded copy: ${JSON.stringify(adm)}`);

// ---------------------------------------------------------------- browser
await h.launch();
const errors = h.errors;
const newPage = (name, viewport, lang) => h.newPage(name, { viewport, lang, dialogs: true });
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

// English words shown in a Chinese screen (not in code, ids or logins).
const ALLOW = new Set(['Cordon', 'English', 'alice', 'bob', 'carol', 'dave', 'erin', 'officer', 'admin']);
const englishIn = (page) => englishShown(page, ALLOW);

const test = h.test;
const O = await newPage('officer');
const A = await newPage('erin');
await h.signIn(O, 'officer');
await h.signIn(A, 'erin');

await test('from an alert on a forwarded copy, the spread shows every copy as a tree', async () => {
  await O.goto(`${base}/#/console/alerts/${alert.id}`);
  const fw = O.locator('[data-testid=alert-forward]');
  await fw.waitFor();
  const fwText = await fw.textContent();
  expectTrue(fwText.includes('第 3 次转发') && fwText.includes('王小丽'), `alert forward row: ${fwText}`);
  await O.locator('[data-testid=alert-spread]').click();
  await O.locator('[data-testid=spread-node]').nth(4).waitFor();
  expectTrue(await O.locator('[data-testid=spread-node]').count() === 5, 'five copies');
  const totals = await O.locator('[data-testid=spread-totals]').textContent();
  expectTrue(totals.includes('5 份副本') && totals.includes('5 个会话'), `totals: ${totals}`);
  const convs = await O.locator('[data-testid=spread-conv]').allTextContents();
  for (const t of ['研发一组', '研发二组', '采购群', '外包对接群', '财务群']) expectTrue(convs.some((x) => x.includes(t)), `${t} named: ${convs}`);
  // the branch at 研发二组 indents; the chain does not
  expectTrue(await O.locator('.sp-kids [data-testid=spread-node]').count() === 3, 'two branches of 研发二组');
  expectTrue(await O.locator('[data-testid=spread-map] .sp-dot').count() === 5, 'one square per copy at a glance');
  const english = await englishIn(O);
  expectTrue(english.length === 0, `English in the zh spread view: ${english.join('; ')}`);
  await shot(O, 'spread-desktop-zh');
});

await test('hold for review, restore, then remove every copy: the member sees it live', async () => {
  await A.goto(`${base}/#/chat/${g3.id}`);
  const msg = A.locator(`[data-msg-id="${c3.id}"]`);
  await msg.waitFor();
  expectTrue((await msg.textContent()).includes('13800138000') || (await msg.textContent()).includes('手机号'), 'the copy is there');
  // no reason: refused in the page
  await O.locator('[data-testid=spread-quarantine-all]').click();
  await O.locator('[data-testid=spread-error]').waitFor();
  await O.locator('[data-testid=spread-reason]').fill('疑似泄露客户信息，先隔离核查');
  await O.locator('[data-testid=spread-quarantine-all]').click();
  await O.locator('[data-testid=spread-done]').waitFor();
  await A.locator(`[data-testid=contained][data-msg-id="${c3.id}"]`).waitFor();
  expectTrue((await A.locator(`[data-msg-id="${c3.id}"]`).textContent()).includes('正在接受保密审查'), 'held notice');
  await O.locator('[data-testid=spread-node][data-state=quarantined]').nth(4).waitFor();
  await shot(O, 'spread-quarantined-desktop-zh');
  await O.locator('[data-testid=spread-restore-all]').click();
  await A.locator(`[data-testid=message][data-msg-id="${c3.id}"]`).waitFor();
  await O.locator('[data-testid=spread-reason]').fill('核查确认外泄，全部撤回');
  await O.locator('[data-testid=spread-remove-all]').click();
  await A.locator(`[data-testid=contained][data-msg-id="${c3.id}"]`).waitFor();
  const notice = await A.locator(`[data-msg-id="${c3.id}"]`).textContent();
  expectTrue(notice.includes('此消息已被保密管理员撤回'), `removed notice: ${notice}`);
  expectTrue(!(await A.locator('body').textContent()).includes('13800138000'), 'nothing left on the member\'s screen');
  // the removed copies no longer count as unread in the list
  await A.waitForFunction(() => !document.querySelector('[data-testid=unread]'), null, { timeout: 5000 });
  await O.locator('[data-testid=spread-node][data-state=removed]').nth(4).waitFor();
  const english = [...await englishIn(O), ...await englishIn(A)];
  expectTrue(english.length === 0, `English in zh: ${english.join('; ')}`);
  await shot(A, 'member-removed-desktop-zh');
  await shot(O, 'spread-removed-desktop-zh');
});

await test('the context around an alert opens with a stated reason', async () => {
  await O.goto(`${base}/#/console/alerts/${alert.id}`);
  const ctx = O.locator('[data-testid=alert-context]');
  await ctx.locator('summary').click();
  await O.locator('[data-testid=context-reason]').fill('核查告警来源');
  await O.locator('[data-testid=context-open]').click();
  const list = O.locator('[data-testid=context-messages] li');
  await list.first().waitFor();
  const text = await O.locator('[data-testid=context-messages]').textContent();
  expectTrue(text.includes('此消息已被保密管理员撤回'), `context shows the removal: ${text}`);
  // and around any copy of the spread, with the reason typed there
  await O.goto(`${base}/#/console/spread/${c4.id}/${alert.id}`);
  await O.locator('[data-testid=spread-node]').nth(4).waitFor();
  await O.locator('[data-testid=spread-reason]').fill('查看财务群里的副本');
  await O.locator('[data-testid=spread-node]').nth(4).locator('[data-testid=spread-context-open]').click();
  await O.locator('[data-testid=spread-context] li').first().waitFor();
  await shot(O, 'spread-context-desktop-zh');
  const english = await englishIn(O);
  expectTrue(english.length === 0, `English in zh: ${english.join('; ')}`);
  await shot(O, 'alert-context-desktop-zh');
  const audit = await call('GET', '/audit?limit=1000', undefined, h.adminToken);
  expectTrue(audit.entries.some((e) => e.event === 'officer.context' && e.detail.reason === '核查告警来源'), 'audited');
  expectTrue(audit.entries.some((e) => e.event === 'officer.context' && e.detail.reason === '查看财务群里的副本'), 'audited from the spread');
  expectTrue(audit.entries.some((e) => e.event === 'officer.contain' && e.detail.reason === '核查确认外泄，全部撤回' && e.detail.changed.length === 5), 'removal audited');
});

for (const [lang, vp, tag] of [['zh', { width: 390, height: 844 }, 'phone-zh'], ['en', { width: 390, height: 844 }, 'phone-en'], ['en', { width: 1280, height: 800 }, 'desktop-en']]) {
  await test(`the spread view at ${tag}`, async () => {
    const P = await newPage(`officer-${tag}`, vp, lang);
    await h.signIn(P, 'officer');
    await P.goto(`${base}/#/console/spread/${c4.id}/${alert.id}`);
    await P.locator('[data-testid=spread-node]').nth(4).waitFor();
    const title = await P.locator('[data-testid=spread] h2').textContent();
    expectTrue(title === (lang === 'zh' ? '消息扩散追踪' : 'Where this message went'), `title: ${title}`);
    if (lang === 'zh') {
      const english = await englishIn(P);
      expectTrue(english.length === 0, `English in zh: ${english.join('; ')}`);
    } else {
      const st = await P.locator('[data-testid=spread-state]').first().textContent();
      expectTrue(st === 'Removed by an officer', `state: ${st}`);
    }
    // nothing wider than the screen
    const overflow = await P.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expectTrue(overflow <= 0, `page overflows by ${overflow}px`);
    await shot(P, `spread-${tag}`);
    if (tag === 'phone-zh' || tag === 'phone-en') {
      const M = await newPage(`erin-${tag}`, vp, lang);
      await h.signIn(M, 'erin');
      await M.goto(`${base}/#/chat/${g3.id}`);
      await M.locator(`[data-testid=contained][data-msg-id="${c3.id}"]`).waitFor();
      const t = await M.locator(`[data-msg-id="${c3.id}"]`).textContent();
      expectTrue(t === (lang === 'zh' ? '此消息已被保密管理员撤回' : 'Removed by the security officer'), `notice: ${t}`);
      await shot(M, `member-removed-${tag}`);
    }
  });
}

await test('the dashboard charts the server\'s statistics over a chosen period', async () => {
  await O.goto(`${base}/#/console/dashboard`);
  await O.locator('[data-testid=chart-category]').waitFor();
  const total = Number(await O.locator('[data-testid=stat-total]').textContent());
  const st = await call('GET', `/officer/stats?from=${Date.now() - 14 * 86400000}&to=${Date.now() + 1000}`, undefined, h.adminToken);
  expectTrue(total === st.total && total >= 5, `total ${total} vs server ${st.total}`);
  await O.locator('[data-testid=db-period]').selectOption('30');
  await O.locator('[data-testid=chart-category]').waitFor();
  const english = await englishIn(O);
  expectTrue(english.length === 0, `English in the zh dashboard: ${english.join('; ')}`);
  await shot(O, 'dashboard-desktop-zh');
});

await test('no script errors in any page', async () => {
  expectTrue(errors.length === 0, errors.join('\n'));
});
log('done');
await h.finish();
