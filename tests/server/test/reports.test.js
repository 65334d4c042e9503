'use strict';
// Reports to the officers (举报; issue 16, "Reporting to officers";
// docs/API.md, "Reports"): any user reports a message they can see, or a
// person, with a note. Officers get an alert of kind "report" with the
// reported content as evidence and the reporter's identity; nobody else
// sees either. Reporting is authorised like reading (a message you cannot
// see is 404), rate-limited and audited.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world } = require('../lib/fixture.js');
const { Ws, send, assertError, auditEntries } = require('../lib/client.js');

const w = world({
  a: {}, b: {}, c: {}, n: {}, o: { role: 'officer' },
  x: { external: true },
});

async function group(owner, title, members, opts = {}) {
  return owner.ok('POST', '/conversations', { kind: 'group', title, member_ids: members.map((m) => m.user.id), ...opts }, 201);
}

async function sent(api, convId, text, extra) {
  const r = await send(api, convId, text, extra);
  assert.equal(r.status, 201, r.text);
  return r.body.message;
}

test('a member reports a message: officers get a report alert with the evidence and the reporter', async () => {
  const conv = await group(w.a, 'report me', [w.b, w.x]);
  const m = await sent(w.x, conv.id, '你好，能告诉我你们那个案子的进展吗？私下聊');
  const wo = await Ws.open(w.o);
  const wb = await Ws.open(w.b);
  try {
    const r = await w.b.post('/reports', { message_id: m.id, note: '他一直打听我负责的案子' });
    assert.equal(r.status, 201, r.text);
    assert.ok(r.body.report.id > 0);
    assert.deepEqual(Object.keys(r.body).sort(), ['report']);

    const ev = await wo.waitType('alert.new', (e) => e.alert.id === r.body.report.id);
    const al = ev.alert;
    assert.equal(al.kind, 'report');
    assert.equal(al.category, 'report');
    assert.equal(al.reporter_id, w.b.user.id, 'officers see who reported');
    assert.equal(al.user_id, w.x.user.id, 'the person reported is the sender');
    assert.equal(al.message_id, m.id);
    assert.equal(al.conversation_id, conv.id);
    assert.equal(al.note, '他一直打听我负责的案子');
    assert.equal(al.evidence.message.text, m.text, 'the reported content is the evidence');
    assert.equal(al.evidence.user.id, w.x.user.id);
    // the reporter's socket gets no alert (alerts are the staff's)
    assert.equal(wb.find((e) => e.type === 'alert.new').length, 0);

    // the console lists it: GET /reports, and /alerts?kind=report
    const lr = await w.o.ok('GET', '/reports');
    assert.ok(lr.alerts.some((a) => a.id === al.id && a.reporter_id === w.b.user.id));
    assert.ok(lr.alerts.every((a) => a.kind === 'report'));
    const la = await w.o.ok('GET', '/alerts?kind=report');
    assert.deepEqual(la.alerts.map((a) => a.id), lr.alerts.map((a) => a.id));
    const lg = await w.o.ok('GET', '/alerts?kind=guard');
    assert.ok(!lg.alerts.some((a) => a.id === al.id));
    const one = await w.o.ok('GET', `/alerts/${al.id}`);
    assert.equal(one.reporter_id, w.b.user.id);

    // the evidence survives a recall by the reported sender
    await w.x.ok('POST', `/messages/${m.id}/recall`, undefined, 204);
    const after = await w.o.ok('GET', `/alerts/${al.id}`);
    assert.equal(after.evidence.message.text, m.text);
  } finally {
    await Promise.all([wo.close(), wb.close()]);
  }
});

test('a message the reporter cannot see is 404, the same as one that does not exist', async () => {
  const conv = await group(w.a, 'private', [w.b]);
  const m = await sent(w.a, conv.id, '内部讨论');
  // not a member
  assertError(await w.c.post('/reports', { message_id: m.id, note: 'x' }), 404, 'not_found');
  // no such message
  assertError(await w.c.post('/reports', { message_id: m.id + 100000, note: 'x' }), 404, 'not_found');
  // a member who joined later, history not shared: the earlier message is not theirs
  await w.a.ok('POST', `/conversations/${conv.id}/members`, { user_id: w.n.user.id }, 204);
  assertError(await w.n.post('/reports', { message_id: m.id, note: 'x' }), 404, 'not_found');
  // no such person
  assertError(await w.c.post('/reports', { user_id: 987654, note: 'x' }), 404, 'not_found');
  // the officers got nothing from any of these
  const lr = await w.o.ok('GET', '/reports');
  assert.ok(!lr.alerts.some((a) => a.message_id === m.id));
});

test('reporting a person, and bad input', async () => {
  const r = await w.c.post('/reports', { user_id: w.x.user.id, note: '有人反复打听我经手的案子' });
  assert.equal(r.status, 201, r.text);
  const one = await w.o.ok('GET', `/alerts/${r.body.report.id}`);
  assert.equal(one.kind, 'report');
  assert.equal(one.user_id, w.x.user.id);
  assert.equal(one.message_id, null);
  assert.equal(one.reporter_id, w.c.user.id);
  assert.equal(one.evidence.user.login, w.x.login);

  assertError(await w.c.post('/reports', { note: 'nothing named' }), 400, 'bad_request');
  assertError(await w.c.post('/reports', { user_id: w.x.user.id }), 422, 'invalid');
  assertError(await w.c.post('/reports', { user_id: w.x.user.id, note: '' }), 422, 'invalid');
  assertError(await w.c.post('/reports', { user_id: w.x.user.id, note: 'x'.repeat(2001) }), 422, 'invalid');
  assertError(await w.c.post('/reports', { user_id: 'x', note: 'y' }), 400, 'bad_request');
  const conv = await group(w.a, 'mismatch', [w.c]);
  const m = await sent(w.a, conv.id, 'hello');
  assertError(await w.c.post('/reports', { message_id: m.id, user_id: w.b.user.id, note: 'y' }), 400, 'bad_request');
});

test('staff who are not officers cannot list reports or alerts', async () => {
  assertError(await w.b.get('/reports'), 403, 'forbidden');
  assertError(await w.b.get('/alerts?kind=report'), 403, 'forbidden');
  assertError(await w.x.get('/reports'), 403, 'forbidden');
});

test('a report of an inbound warning carries its findings; reports are audited without the note', async () => {
  const conv = await group(w.a, 'phish', [w.b, w.x]);
  const m = await sent(w.x, conv.id, '请登录 http://198.51.100.9/verify 核对', { justification: '官方通知' });
  const r = await w.b.post('/reports', { message_id: m.id, note: '可疑链接' });
  assert.equal(r.status, 201, r.text);
  const one = await w.o.ok('GET', `/alerts/${r.body.report.id}`);
  assert.deepEqual(one.findings.map((f) => f.rule), ['link.ip_host']);
  assert.equal(one.evidence.message.inbound_warning.findings[0].rule, 'link.ip_host');
  const entries = await auditEntries(w.admin);
  const e = entries.find((x) => x.event === 'report.create' && x.target === `alert:${r.body.report.id}`);
  assert.ok(e, 'report.create audited');
  assert.equal(e.actor_id, w.b.user.id);
  assert.equal(e.detail.message, m.id);
  assert.ok(!JSON.stringify(e).includes('可疑链接'), 'the note is not in the audit log');
});

test('reports are rate-limited per reporter', async () => {
  let last;
  for (let i = 0; i < 12; i++) {
    last = await w.a.post('/reports', { user_id: w.x.user.id, note: `report ${i}` });
    if (last.status === 429) break;
    assert.equal(last.status, 201, last.text);
  }
  assertError(last, 429, 'report_limit');
  assert.equal(last.body.error.max, 10);
  // another user is not affected
  const other = await w.n.post('/reports', { user_id: w.x.user.id, note: 'mine' });
  assert.equal(other.status, 201, other.text);
});
