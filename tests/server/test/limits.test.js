'use strict';
// Limits with clear errors (a server configured small): recall window,
// members per group, requests per second per session (HTTP and WS frames),
// message size over the socket, and TOTP made mandatory for officers.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world, auditVerify } = require('../lib/fixture.js');
const { Api, Ws, send, conversation, newSession, login, makeUser, assertError, totp } = require('../lib/client.js');
const { sleep, SLOW } = require('../lib/server.js');

const RECALL_S = 2 * SLOW;
const w = world({ a: {}, b: {}, c: {}, d: {}, e: {} }, {
  config: {
    recall_window_seconds: RECALL_S,
    limits: { max_group_members: 4, requests_per_second: 20, burst: 20 },
    totp_required: ['officer'],
  },
});

test('recall after the window: 409 recall_expired, the message stays', async () => {
  const conv = await conversation(w.a, [w.b]);
  const r1 = await send(w.a, conv.id, 'recall me quickly');
  assert.equal(r1.status, 201, r1.text);
  await w.a.ok('POST', `/messages/${r1.body.message.id}/recall`, {}, 204);
  const r2 = await send(w.a, conv.id, 'too late to recall this one');
  await sleep(RECALL_S * 1000 + 1200);
  assertError(await w.a.post(`/messages/${r2.body.message.id}/recall`, {}), 409, 'recall_expired');
  const h = await w.b.ok('GET', `/conversations/${conv.id}/messages`);
  assert.equal(h.messages.find((m) => m.id === r2.body.message.id).text, 'too late to recall this one');
});

test('members per group: 422 too_many_members on create and on add', async () => {
  const five = [w.b, w.c, w.d, w.e].map((u) => u.user.id);
  const r = await w.a.post('/conversations', { kind: 'group', title: 'too big', member_ids: five });
  assertError(r, 422, 'too_many_members');
  const g = await conversation(w.a, [w.b, w.c, w.d], { title: 'full' });
  assert.equal(g.members.length, 4);
  assertError(await w.a.post(`/conversations/${g.id}/members`, { user_id: w.e.user.id }), 422, 'too_many_members');
  assertError(await w.a.post('/conversations', { kind: 'direct', member_ids: [w.b.user.id, w.c.user.id] }), 422, 'invalid', 'direct with 3');
});

test('requests per second per session: 429 with Retry-After, then recovers', async () => {
  const s = await newSession(w.c);
  const rs = await Promise.all(Array.from({ length: 60 }, () => s.get('/me')));
  const limited = rs.filter((r) => r.status === 429);
  assert.ok(limited.length > 0, `60 requests at once with burst 20: some limited (${rs.map((r) => r.status)})`);
  assert.ok(rs.filter((r) => r.status === 200).length >= 15, 'the burst goes through');
  assertError(limited[0], 429, 'rate_limited');
  assert.ok(Number(limited[0].headers.get('retry-after')) >= 1, 'Retry-After');
  // another session of the same user is not affected
  assert.equal((await w.c.get('/me')).status, 200);
  await sleep(1500);
  assert.equal((await s.get('/me')).status, 200, 'the bucket refills');

  // WebSocket frames count too
  const s2 = await newSession(w.d);
  const conv = await conversation(w.d, [w.e]);
  const ws = await Ws.open(s2);
  try {
    for (let i = 0; i < 60; i++) ws.send({ type: 'message.send', req: 1000 + i, conversation_id: conv.id, client_id: `rl-${i}`, text: `burst ${i}` });
    const err = await ws.waitFor((e) => e.type === 'error' && e.error && e.error.code === 'rate_limited', 10000, 'rate_limited error');
    assert.ok(err.req >= 1000);
    await sleep(1500);
    ws.send({ type: 'ping', req: 5000 });
    await ws.waitFor((e) => e.type === 'pong' && e.req === 5000);
  } finally { await ws.close(); }
});

test('a message over the size limit on the socket: error message_too_large', async () => {
  const conv = await conversation(w.a, [w.e]);
  const ws = await Ws.open(w.a);
  try {
    ws.send({ type: 'message.send', req: 1, conversation_id: conv.id, client_id: 'big-ws', text: 'x'.repeat(16385) });
    const e = await ws.waitFor((x) => x.req === 1);
    assert.equal(e.type, 'error');
    assert.equal(e.error.code, 'message_too_large');
    ws.send({ type: 'message.send', req: 2, conversation_id: conv.id, client_id: 'empty-ws', text: '' });
    const e2 = await ws.waitFor((x) => x.req === 2);
    assert.equal(e2.error.code, 'invalid');
  } finally { await ws.close(); }
});

test('TOTP required for officers: nothing but enrolment until it is done', async () => {
  const created = await w.admin.ok('POST', '/admin/users', { login: `officer${process.pid}`, display_name: 'Officer', role: 'officer' }, 201);
  let r = await login(w.srv.base, created.user.login, created.password);
  assert.equal(r.status, 200, r.text);
  const api = new Api(w.srv.base, r.body.token);
  const pw = 'Officer-pass-2026';
  assert.equal((await api.post('/auth/password', { old_password: created.password, new_password: pw })).status, 204);
  assertError(await api.get('/alerts'), 403, 'totp_enrolment_required');
  assertError(await api.get('/conversations'), 403, 'totp_enrolment_required');
  await assert.rejects(Ws.open(api), (e) => e.status === 403);
  const en = await api.ok('POST', '/me/totp', {}, 200);
  assert.equal((await api.post('/me/totp/confirm', { code: totp(en.secret) })).status, 204);
  assert.equal((await api.get('/alerts')).status, 200, 'enrolled: officer routes open');
  r = await login(w.srv.base, created.user.login, pw);
  assertError(r, 401, 'totp_required');
  // members are not forced
  const m = await makeUser(w.admin);
  assert.equal((await m.get('/conversations')).status, 200);
});

test('audit chain verifies after the run', async () => {
  auditVerify(w.srv);
});
