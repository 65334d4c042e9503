'use strict';
// Early warning over time (docs/POLICY.md, "Early warning"): thresholds in
// the policy's `warnings:`, each rule an alert of its own category with the
// evidence, once per window, pushed to the officers; and the dashboard's
// statistics counted by the server over a period.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world } = require('../lib/fixture.js');
const { Ws, send, conversation, assertError, assertNone, auditEntries } = require('../lib/client.js');

const w = world({ off: { role: 'officer' }, a: {}, b: {}, c: {}, x: { external: true }, y: { external: true } });
const put = (api, p, body) => api.req('PUT', p, body);
const T0 = Date.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('the thresholds are set in the policy; bad ones are refused with their line', async () => {
  const p = await w.admin.ok('GET', '/admin/policy');
  const bad = await put(w.admin, '/admin/policy', { text: `${p.text}\nwarnings:\n  spread_conversations: -1\n` });
  assert.ok(bad.status >= 400 && bad.status < 500, bad.text);
  assert.match(bad.text, /spread_conversations/);
  const typo = await put(w.admin, '/admin/policy', { text: `${p.text}\nwarnings:\n  spread_convos: 3\n` });
  assert.match(typo.text, /unknown key 'spread_convos' in warnings/);
  const r = await put(w.admin, '/admin/policy', {
    text: `${p.text}\nwarnings:\n  spread_conversations: 3\n  spread_minutes: 10\n  attempts_per_day: 3\n  external_after_minutes: 30\n`,
  });
  assert.equal(r.status, 200, r.text);
});

test('a message forwarded into more than N conversations within M minutes raises warning.spread once', async () => {
  const ws = await Ws.open(w.off);
  try {
    const src = await conversation(w.a, [w.b], { title: 'source' });
    const targets = [];
    for (let i = 0; i < 5; i++) targets.push(await conversation(w.b, [w.c], { title: `t${i}` }));
    const m = (await send(w.a, src.id, 'the launch date is moved')).body.message;
    // root + 2 copies: 3 conversations, not more than 3
    await w.b.ok('POST', `/messages/${m.id}/forward`, { conversation_ids: [targets[0].id, targets[1].id] }, 200);
    await assertNone(ws, (e) => e.type === 'alert.new' && e.alert.category === 'warning.spread', 500, 'no warning at 3');
    await w.b.ok('POST', `/messages/${m.id}/forward`, { conversation_ids: [targets[2].id] }, 200);
    const ev = await ws.waitType('alert.new', (e) => e.alert.category === 'warning.spread');
    const a = ev.alert;
    assert.equal(a.message_id, m.id, 'about the original, so the console opens its spread');
    assert.equal(a.user_id, w.a.user.id, 'the author of the original');
    assert.equal(a.verdict, 'warn');
    assert.equal(a.findings[0].rule, 'warning.spread');
    assert.equal(a.findings[0].conversations, 4);
    assert.equal(a.findings[0].threshold, 3);
    assert.equal(a.findings[0].window_minutes, 10);
    // more copies: no second alert within the window
    await w.b.ok('POST', `/messages/${m.id}/forward`, { conversation_ids: [targets[3].id, targets[4].id] }, 200);
    await sleep(500);
    assert.equal(ws.events.filter((e) => e.type === 'alert.new' && e.alert.category === 'warning.spread').length, 1, 'once per window');
    const list = await w.off.ok('GET', '/alerts?category=warning.spread');
    assert.equal(list.alerts.length, 1);
  } finally { await ws.close(); }
});

test('a user whose blocked or held attempts exceed N a day raises warning.attempts once', async () => {
  const ws = await Ws.open(w.off);
  try {
    const g = await conversation(w.c, [w.a], { title: 'attempts' });
    for (let i = 0; i < 3; i++) {
      const r = await send(w.c, g.id, `绝密★30年\n关于某项目的通知 ${i}`);
      assertError(r, 403, 'guard_blocked');
    }
    await assertNone(ws, (e) => e.type === 'alert.new' && e.alert.category === 'warning.attempts', 500, 'not at 3');
    const held = await send(w.c, g.id, '核心商密\n新产品定价策略（草案）');
    assertError(held, 409, 'guard_confirm');
    const ev = await ws.waitType('alert.new', (e) => e.alert.category === 'warning.attempts');
    assert.equal(ev.alert.user_id, w.c.user.id);
    assert.equal(ev.alert.findings[0].attempts, 4);
    assert.equal(ev.alert.findings[0].threshold, 3);
    assertError(await send(w.c, g.id, '绝密★30年\n又一次'), 403, 'guard_blocked');
    await sleep(500);
    assert.equal(ws.events.filter((e) => e.type === 'alert.new' && e.alert.category === 'warning.attempts').length, 1, 'once a day');
  } finally { await ws.close(); }
});

test('an external member added shortly after sensitive content raises warning.external', async () => {
  const ws = await Ws.open(w.off);
  try {
    const quiet = await conversation(w.a, [w.b], { title: 'quiet' });
    await send(w.a, quiet.id, 'lunch at noon');
    await w.a.ok('POST', `/conversations/${quiet.id}/members`, { user_id: w.y.user.id });
    await assertNone(ws, (e) => e.type === 'alert.new' && e.alert.category === 'warning.external', 500, 'nothing sensitive there');

    const g = await conversation(w.a, [w.b], { title: 'customers' });
    const r = await send(w.a, g.id, '客户的手机号是13800138000');
    assert.equal(r.body.guard.verdict, 'warn');
    // an internal member: no warning
    await w.a.ok('POST', `/conversations/${g.id}/members`, { user_id: w.c.user.id });
    await assertNone(ws, (e) => e.type === 'alert.new' && e.alert.category === 'warning.external', 500, 'internal member');
    await w.a.ok('POST', `/conversations/${g.id}/members`, { user_id: w.x.user.id });
    const ev = await ws.waitType('alert.new', (e) => e.alert.category === 'warning.external');
    assert.equal(ev.alert.conversation_id, g.id);
    assert.equal(ev.alert.user_id, w.x.user.id, 'the external member');
    assert.equal(ev.alert.message_id, r.body.message.id, 'the sensitive message');
    assert.equal(ev.alert.findings[0].sensitive_messages, 1);
    assert.ok(!JSON.stringify(ev.alert).includes('13800138000'), 'no content in the evidence');
  } finally { await ws.close(); }
});

test('warnings are audited', async () => {
  const events = new Set((await auditEntries(w.admin)).map((e) => e.event));
  for (const e of ['warning.spread', 'warning.attempts', 'warning.external']) assert.ok(events.has(e), e);
});

test('GET /officer/stats counts alerts over a period by day, category, rule and verdict', async () => {
  const s = await w.off.ok('GET', `/officer/stats?from=${T0 - 1000}&to=${Date.now() + 1000}&tz_offset_minutes=480`);
  assert.equal(s.tz_offset_minutes, 480);
  assert.equal(s.by_category['warning.spread'], 1);
  assert.equal(s.by_category['warning.attempts'], 1);
  assert.equal(s.by_category['warning.external'], 1);
  assert.ok(s.by_verdict.block >= 4, JSON.stringify(s.by_verdict));
  assert.ok(s.by_verdict.confirm >= 1);
  assert.ok(s.by_rule['warning.spread'] === 1);
  const alerts = await w.off.ok('GET', '/alerts?limit=200');
  assert.equal(s.total, alerts.alerts.length, 'every alert of the period');
  assert.equal(Object.values(s.by_day).reduce((x, y) => x + y, 0), s.total);
  for (const day of Object.keys(s.by_day)) assert.equal((Number(day) + 480 * 60000) % 86400000, 0, 'days start at local midnight');
  assert.equal(s.rows.reduce((x, r) => x + r.count, 0), s.total);
  // an empty period
  const none = await w.off.ok('GET', `/officer/stats?from=${T0 - 10 * 86400000}&to=${T0 - 9 * 86400000}`);
  assert.equal(none.total, 0);
  assertError(await w.off.get('/officer/stats?from=10&to=5'), 400, 'bad_request');
  assertError(await w.off.get(`/officer/stats?from=1&to=${400 * 86400000}`), 400, 'bad_request');
  assertError(await w.a.get('/officer/stats'), 403, 'forbidden');
});
