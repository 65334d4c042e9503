'use strict';
// Every guard action end to end under the built-in default policy
// (data/policy/default.yaml), and the officer's side: live alerts, the
// filtered list, acknowledge and resolve, the audit trail.
//
// Texts (checked with `cordon check`):
//   allow    plain chat
//   warn     a mainland mobile number inside the organisation   (pii-internal)
//   mask     a mobile and a PRC ID number to an external member (pii-external)
//   confirm  a 核心商密 commercial-secret marking                 (commercial-marking)
//   block    机密★1年, a classified marking                       (classified-marking)
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world, auditVerify } = require('../lib/fixture.js');
const { Ws, send, conversation, history, assertError, assertNone, assertAudit, auditEntries } = require('../lib/client.js');

const WARN_TEXT = '我的手机号是13800138000';
const MASK_TEXT = '客户张三的手机号是13800138000，身份证号11010519491231002X，请联系。';
const MASKED = '客户张三的手机号是138****8000，身份证号110***********002X，请联系。';
const CONFIRM_TEXT = '核心商密\n新产品定价策略（草案）';
const BLOCK_TEXT = '机密★1年 关于某项目的请示';

const w = world({ a: {}, b: {}, x: { external: true }, off: { role: 'officer' } });
const s = {}; // shared state: conversations, sockets

async function setup() {
  if (s.internal) return;
  s.internal = await conversation(w.a, [w.b]);
  s.external = await conversation(w.a, [w.b, w.x], { title: 'with a supplier' });
  assert.equal(s.internal.external, false);
  assert.equal(s.external.external, true, 'a conversation with an external account is external');
}

function noText(ws, needle) {
  return ws.events.filter((e) => JSON.stringify(e).includes(needle));
}

test('allow: delivered as sent', async () => {
  await setup();
  const wsB = await Ws.open(w.b);
  try {
    const r = await send(w.a, s.internal.id, 'the build is green again');
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.guard.verdict, 'allow');
    assert.deepEqual(r.body.guard.findings, []);
    await wsB.waitType('message.new', (e) => e.message.id === r.body.message.id);
  } finally { await wsB.close(); }
});

test('warn: delivered, and the sender is told what was found', async () => {
  await setup();
  const wsB = await Ws.open(w.b);
  try {
    const r = await send(w.a, s.internal.id, WARN_TEXT);
    assert.equal(r.status, 201, r.text);
    const g = r.body.guard;
    assert.equal(g.verdict, 'warn');
    assert.equal(g.decided_by, 'pii-internal');
    const f = g.findings.find((x) => x.rule === 'pii.cn_mobile');
    assert.ok(f, JSON.stringify(g.findings));
    assert.equal(f.category, 'pii');
    assert.equal(f.action, 'warn');
    assert.equal(Buffer.from(WARN_TEXT).subarray(f.start, f.end).toString(), '13800138000', 'span = the number (byte offsets)');
    assert.ok(!f.excerpt.includes('13800138000'), `pii excerpt is masked: ${f.excerpt}`);
    assert.equal(r.body.message.text, WARN_TEXT, 'warn delivers the text unchanged');
    const ev = await wsB.waitType('message.new', (e) => e.message.id === r.body.message.id);
    assert.equal(ev.message.text, WARN_TEXT);
  } finally { await wsB.close(); }
});

test('mask: an external conversation gets the PII masked, live and in history', async () => {
  await setup();
  const wsB = await Ws.open(w.b);
  const wsX = await Ws.open(w.x);
  try {
    const r = await send(w.a, s.external.id, MASK_TEXT);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.guard.verdict, 'mask');
    assert.equal(r.body.guard.decided_by, 'pii-external');
    assert.deepEqual(r.body.guard.findings.map((f) => f.rule).sort(), ['pii.cn_id', 'pii.cn_mobile']);
    const m = r.body.message;
    assert.equal(m.masked, true);
    assert.equal(m.text, MASKED);
    for (const ws of [wsB, wsX]) {
      const ev = await ws.waitType('message.new', (e) => e.message.id === m.id);
      assert.equal(ev.message.text, MASKED);
      assert.equal(ev.message.masked, true);
      assert.deepEqual(noText(ws, '13800138000'), [], 'the raw number never reaches a recipient');
      assert.deepEqual(noText(ws, '11010519491231002X'), []);
    }
    for (const who of [w.a, w.b, w.x]) {
      const h = await history(who, s.external.id);
      assert.ok(!h.text.includes('13800138000') && !h.text.includes('11010519491231002X'), 'history holds only the masked text');
      assert.equal(h.body.messages.find((x) => x.id === m.id).text, MASKED);
    }
    // the same text inside the organisation is only a warning
    const r2 = await send(w.a, s.internal.id, MASK_TEXT);
    assert.equal(r2.body.guard.verdict, 'warn');
  } finally { await wsB.close(); await wsX.close(); }
});

test('confirm: held until justified; then delivered, alerted and audited', async () => {
  await setup();
  const wsB = await Ws.open(w.b);
  const wsO = await Ws.open(w.off);
  try {
    const client_id = `confirm-${Date.now()}`;
    const r = await w.a.post(`/conversations/${s.internal.id}/messages`, { client_id, text: CONFIRM_TEXT });
    assertError(r, 409, 'guard_confirm', 'confirm');
    assert.equal(r.body.guard.verdict, 'confirm');
    assert.equal(r.body.guard.decided_by, 'commercial-marking');
    assert.ok(r.body.guard.findings.some((f) => f.rule === 'marking.commercial'));
    assert.ok(!('message' in r.body) || r.body.message === null, 'nothing stored');

    await assertNone(wsB, (e) => JSON.stringify(e).includes('新产品定价策略'), 1000, 'push of held content');
    const h = await history(w.b, s.internal.id, '?limit=200');
    assert.ok(!h.text.includes('新产品定价策略'), 'held content is not in history');
    const list = await w.b.ok('GET', '/conversations');
    assert.ok(!JSON.stringify(list).includes('新产品定价策略'), 'nor in the conversation list');

    // an empty justification does not count
    const r0 = await w.a.post(`/conversations/${s.internal.id}/messages`, { client_id, text: CONFIRM_TEXT, justification: '' });
    assert.ok(r0.status === 409 || r0.status === 422, `empty justification: ${r0.status} ${r0.text}`);

    const why = '客户已签保密协议，经理批准发送';
    const r2 = await w.a.post(`/conversations/${s.internal.id}/messages`, { client_id, text: CONFIRM_TEXT, justification: why });
    assert.equal(r2.status, 201, r2.text);
    const m = r2.body.message;
    assert.equal(m.text, CONFIRM_TEXT);
    await wsB.waitType('message.new', (e) => e.message.id === m.id);

    const al = await wsO.waitType('alert.new', (e) => e.alert.kind === 'override' && e.alert.message_id === m.id);
    assert.equal(al.alert.justification, why);
    assert.equal(al.alert.user_id, w.a.user.id);
    assert.equal(al.alert.conversation_id, s.internal.id);
    assert.ok(al.alert.findings.some((f) => f.rule === 'marking.commercial'));
    s.overrideAlert = al.alert;

    // the audit log records that the send was justified; the words stay in
    // the alert, which a recall can strip (the log is append-only)
    const audit = await auditEntries(w.off);
    assert.ok(audit.some((x) => x.event === 'guard.override' && x.target === `message:${m.id}` && JSON.stringify(x.detail).includes('"justified":true')), 'the override is audited as justified');
    assert.ok(!audit.some((x) => JSON.stringify(x).includes(why)), 'the justification is not in the audit log');
  } finally { await wsB.close(); await wsO.close(); }
});

test('block: never delivered, the rule is named, nothing reaches B by any path', async () => {
  await setup();
  const wsB = await Ws.open(w.b);
  const wsO = await Ws.open(w.off);
  try {
    const before = (await w.b.ok('GET', '/conversations')).conversations.find((c) => c.id === s.internal.id);
    const r = await send(w.a, s.internal.id, BLOCK_TEXT);
    assertError(r, 403, 'guard_blocked', 'block');
    assert.equal(r.body.guard.verdict, 'block');
    assert.equal(r.body.guard.decided_by, 'classified-marking');
    assert.ok(r.body.error.message.includes('classified-marking'), `the message names the rule: ${r.body.error.message}`);
    const f = r.body.guard.findings.find((x) => x.rule === 'marking.classified');
    assert.ok(f);
    assert.equal(Buffer.from(BLOCK_TEXT).subarray(f.start, f.end).toString(), '机密★1年');

    // a justification does not help
    const r2 = await send(w.a, s.internal.id, BLOCK_TEXT, { justification: 'please' });
    assertError(r2, 403, 'guard_blocked', 'block with justification');

    // officer sees it live; the alert links no message
    const al = await wsO.waitType('alert.new', (e) => e.alert.verdict === 'block' && e.alert.conversation_id === s.internal.id);
    assert.equal(al.alert.message_id, null);
    assert.equal(al.alert.decided_by, 'classified-marking');
    assert.equal(al.alert.category, 'marking');
    s.blockAlert = al.alert;

    await assertNone(wsB, (e) => JSON.stringify(e).includes('关于某项目的请示') || JSON.stringify(e).includes('机密'), 1000, 'push of blocked content');
    const h = await history(w.b, s.internal.id, '?limit=200');
    assert.ok(!h.text.includes('关于某项目的请示'), 'not in history');
    const list = await w.b.ok('GET', '/conversations');
    const entry = list.conversations.find((c) => c.id === s.internal.id);
    assert.ok(!JSON.stringify(entry).includes('关于某项目的请示'), 'not the last message in the list');
    assert.equal(entry.last_message && entry.last_message.id, before.last_message && before.last_message.id,
      'last message unchanged');
    assert.equal(entry.unread, before.unread, 'unread unchanged');
    const one = await w.b.ok('GET', `/conversations/${s.internal.id}`);
    assert.ok(!JSON.stringify(one).includes('关于某项目的请示'));
  } finally { await wsB.close(); await wsO.close(); }
});

test('draft pre-check returns the verdict with spans, stores nothing', async () => {
  await setup();
  let r = await w.a.post('/guard/check', { text: WARN_TEXT });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.verdict, 'warn');
  const f = r.body.findings.find((x) => x.rule === 'pii.cn_mobile');
  assert.equal(f.start, 18);
  assert.equal(f.end, 29);
  r = await w.a.post('/guard/check', { text: MASK_TEXT, conversation_id: s.external.id });
  assert.equal(r.body.verdict, 'mask', 'the conversation scope is used');
  r = await w.a.post('/guard/check', { text: BLOCK_TEXT });
  assert.equal(r.body.verdict, 'block');
  assert.equal(r.body.decided_by, 'classified-marking');
  assert.deepEqual(r.body.findings.map((x) => [x.start, x.end]).slice(0, 1), [[0, 13]]);
  r = await w.a.post('/guard/check', { text: 'fine' });
  assert.equal(r.body.verdict, 'allow');
  const h = await history(w.b, s.internal.id, '?limit=200');
  assert.ok(!h.body.messages.some((m) => m.text === 'fine'));
});

test('officer: filtered alert list, acknowledge, resolve', async () => {
  await setup();
  assert.ok(s.blockAlert && s.overrideAlert, 'earlier tests raised alerts');
  let l = await w.off.ok('GET', `/alerts?category=marking&user_id=${w.a.user.id}&conversation_id=${s.internal.id}`);
  const ids = l.alerts.map((x) => x.id);
  assert.ok(ids.includes(s.blockAlert.id), 'block alert in the filtered list');
  assert.ok(l.alerts.every((x) => x.category === 'marking' && x.user_id === w.a.user.id && x.conversation_id === s.internal.id));
  l = await w.off.ok('GET', `/alerts?user_id=${w.b.user.id}`);
  assert.ok(!l.alerts.some((x) => x.id === s.blockAlert.id), 'user filter excludes');
  l = await w.off.ok('GET', `/alerts?category=pii`);
  assert.ok(!l.alerts.some((x) => x.id === s.blockAlert.id), 'category filter excludes');
  l = await w.off.ok('GET', `/alerts?since=${Date.now() + 3600e3}`);
  assert.equal(l.alerts.length, 0, 'since in the future: nothing');

  const wsAdm = await Ws.open(w.admin);
  try {
    const one = await w.off.ok('GET', `/alerts/${s.blockAlert.id}`);
    assert.equal(one.status, 'open');
    const acked = await w.off.ok('POST', `/alerts/${s.blockAlert.id}/ack`, { comment: 'looking' }, 200);
    assert.equal(acked.status, 'acked');
    await wsAdm.waitType('alert.updated', (e) => e.alert.id === s.blockAlert.id && e.alert.status === 'acked');
    const noComment = await w.off.post(`/alerts/${s.blockAlert.id}/resolve`, {});
    assert.ok([400, 422].includes(noComment.status), `resolve needs a comment: ${noComment.status}`);
    const res = await w.off.ok('POST', `/alerts/${s.blockAlert.id}/resolve`, { comment: 'talked to the sender' }, 200);
    assert.equal(res.status, 'resolved');
    s.resolved = res;
    l = await w.off.ok('GET', '/alerts?status=resolved');
    assert.ok(l.alerts.some((x) => x.id === s.blockAlert.id));
    l = await w.off.ok('GET', '/alerts?status=open');
    assert.ok(!l.alerts.some((x) => x.id === s.blockAlert.id));
    const missing = await w.off.get('/alerts/99999999');
    assertError(missing, 404, 'not_found');
    // the documented Alert fields (docs/API.md)
    assert.equal(s.resolved.resolve_comment, 'talked to the sender', `resolve_comment: ${JSON.stringify(s.resolved)}`);
    assert.equal(s.resolved.resolved_by, w.off.user.id, 'resolved_by');
    assert.equal(typeof s.resolved.resolved_at, 'number', 'resolved_at');
    assert.equal(s.resolved.acked_by, w.off.user.id, 'acked_by');
    assert.equal(s.resolved.ack_comment, 'looking', 'ack_comment');
  } finally { await wsAdm.close(); }

});

test('the audit log records guard decisions, overrides and alert handling', async () => {
  await assertAudit(w.admin, ['guard.warn', 'guard.mask', 'guard.confirm', 'guard.block', 'guard.override', 'alert.ack', 'alert.resolve']);
});

test('audit chain verifies after the run', async () => {
  const v = await w.admin.ok('GET', '/audit/verify');
  assert.equal(v.ok, true, JSON.stringify(v));
  assert.equal(v.first_bad, null);
  auditVerify(w.srv);
});

test('alert findings carry their context, with personal data starred', async () => {
  await setup();
  const block = await w.off.ok('GET', `/alerts/${s.blockAlert.id}`);
  const bf = (block.findings || block.alert?.findings || []).find((x) => x.rule === 'marking.classified');
  assert.ok(bf, JSON.stringify(block));
  assert.equal(bf.context_before, '');
  assert.equal(bf.context_after, ' 关于某项目的请示');

  // the mask send to the external conversation raised an alert whose ID
  // finding has the mobile number before it: starred, never in clear
  const l = await w.off.ok('GET', `/alerts?conversation_id=${s.external.id}`);
  const ids = (l.alerts || []).map((a) => a.id);
  let found = null;
  for (const id of ids) {
    const a = await w.off.ok('GET', `/alerts/${id}`);
    const f = (a.findings || a.alert?.findings || []).find((x) => x.rule === 'pii.cn_id');
    if (f) { found = f; break; }
  }
  assert.ok(found, 'an alert with the ID number finding');
  assert.ok(!JSON.stringify(found).includes('13800138000'), 'the mobile number is not in clear');
  assert.ok(!JSON.stringify(found).includes('11010519491231002X'), 'the ID number is not in clear');
  // up to 48 bytes either side, cut at a character boundary
  assert.equal(found.context_before, '张三的手机号是***********，身份证号');
  assert.equal(found.context_after, '，请联系。');
});
