'use strict';
// Authorisation: a non-member cannot read, send, list or learn that a
// conversation exists; a member cannot reach admin or officer endpoints;
// session revocation takes effect at once, over HTTP and WebSocket.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world, auditVerify } = require('../lib/fixture.js');
const { within, SLOW } = require('../lib/server.js');
const { Api, Ws, send, conversation, newSession, assertError, assertNone, assertAudit } = require('../lib/client.js');

const w = world({ a: {}, b: {}, c: {}, off: { role: 'officer' } });

test('a non-member gets exactly what a missing id gets', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'a and b only' });
  const r = await send(w.a, conv.id, 'between us');
  assert.equal(r.status, 201, r.text);
  const msgId = r.body.message.id;
  const missing = 9_000_000_001;
  const mine = await conversation(w.c, [w.a]); // a conversation C is in
  const wsC = await Ws.open(w.c);
  try {
    const probes = (id) => [
      ['GET', `/conversations/${id}`],
      ['PATCH', `/conversations/${id}`, { title: 'mine now' }],
      ['GET', `/conversations/${id}/messages`],
      ['POST', `/conversations/${id}/messages`, { client_id: 'intrude', text: 'hi' }],
      ['POST', `/conversations/${id}/members`, { user_id: w.c.user.id }],
      ['DELETE', `/conversations/${id}/members/${w.b.user.id}`],
      ['POST', `/conversations/${id}/leave`, {}],
      ['POST', `/conversations/${id}/read`, { message_id: msgId }],
      ['POST', '/guard/check', { text: 'x', conversation_id: id }],
    ];
    const real = probes(conv.id), fake = probes(missing);
    for (let i = 0; i < real.length; i++) {
      const [m, p, b] = real[i];
      const got = await w.c.req(m, p, b);
      const ref = await w.c.req(fake[i][0], fake[i][1], fake[i][2]);
      assertError(got, 404, 'not_found', `${m} ${p}`);
      assert.equal(ref.status, 404, `${m} missing id`);
      assert.deepEqual(got.body, ref.body, `${m} ${p}: same body as for a missing id`);
    }
    for (const [m, p, b] of [['POST', `/messages/${msgId}/recall`, {}], ['POST', `/messages/${msgId}/forward`, { conversation_ids: [mine.id] }]]) {
      const got = await w.c.req(m, p, b);
      const ref = await w.c.req(m, p.replace(String(msgId), String(missing)), b);
      assertError(got, 404, 'not_found', `${m} ${p}`);
      assert.deepEqual(got.body, ref.body, `${m} ${p}: same as a missing message`);
    }
    const list = await w.c.ok('GET', '/conversations');
    assert.ok(!list.conversations.some((c) => c.id === conv.id), 'not listed');
    // nothing reached C, the conversation is intact
    await send(w.a, conv.id, 'still between us');
    await assertNone(wsC, (e) => e.type === 'message.new' && e.message.conversation_id === conv.id, 500, 'push to a non-member');
    const still = await w.a.ok('GET', `/conversations/${conv.id}`);
    assert.equal(still.title, 'a and b only');
    assert.equal(still.members.length, 2);
  } finally { await wsC.close(); }
});

test('a member cannot reach admin or officer endpoints (403)', async () => {
  const probes = [
    ['GET', '/admin/users'],
    ['POST', '/admin/users', { login: 'sneaky', display_name: 'x' }],
    ['PATCH', `/admin/users/${w.b.user.id}`, { role: 'admin' }],
    ['POST', `/admin/users/${w.b.user.id}/reset-password`, {}],
    ['GET', `/admin/users/${w.b.user.id}/sessions`],
    ['DELETE', `/admin/users/${w.b.user.id}/sessions`],
    ['GET', '/admin/policy'],
    ['POST', '/admin/policy/reload', {}],
    ['GET', '/alerts'],
    ['GET', '/alerts/1'],
    ['POST', '/alerts/1/ack', {}],
    ['POST', '/alerts/1/resolve', { comment: 'x' }],
    ['GET', '/audit'],
    ['GET', '/audit/verify'],
  ];
  for (const [m, p, b] of probes) assertError(await w.a.req(m, p, b), 403, 'forbidden', `member ${m} ${p}`);
  // an officer is not an admin
  for (const [m, p, b] of probes.filter(([, p]) => p.startsWith('/admin'))) {
    assertError(await w.off.req(m, p, b), 403, 'forbidden', `officer ${m} ${p}`);
  }
  const me = await w.b.ok('GET', '/me');
  assert.equal(me.role, 'member', 'the PATCH did not go through');
  // members do not get the officers' alert stream
  const wsA = await Ws.open(w.a);
  const wsO = await Ws.open(w.off);
  try {
    const conv = await conversation(w.a, [w.b]);
    const r = await send(w.a, conv.id, '机密★1年 关于某项目的请示');
    assert.equal(r.status, 403);
    await wsO.waitType('alert.new');
    await assertNone(wsA, (e) => e.type === 'alert.new', 300, 'alert to a member');
  } finally { await wsA.close(); await wsO.close(); }
});

test('no or bad token: 401 over HTTP, refused WebSocket', async () => {
  const anon = new Api(w.srv.base);
  assertError(await anon.get('/conversations'), 401, 'unauthorized');
  assertError(await new Api(w.srv.base, 'not-a-token').get('/me'), 401, 'unauthorized');
  await assert.rejects(Ws.open(new Api(w.srv.base, 'not-a-token')), (e) => e.status === 401);
  await assert.rejects(Ws.open(new Api(w.srv.base, 'not-a-token'), { query: true }), (e) => e.status === 401);
  const h = await anon.get('/health');
  assert.equal(h.status, 200);
  assert.equal(h.body.ok, true);
});

test('revoking one own session: HTTP 401 and its open socket closed at once', async () => {
  const s1 = await newSession(w.b);
  const s2 = await newSession(w.b);
  const ws1 = await Ws.open(s1);
  const ws2 = await Ws.open(s2);
  try {
    const sessions = await s2.ok('GET', '/sessions');
    const mine = sessions.sessions.find((x) => x.id === s1.sessionId);
    assert.ok(mine, `session ${s1.sessionId} listed: ${JSON.stringify(sessions)}`);
    assert.ok(sessions.sessions.find((x) => x.id === s2.sessionId).current, 'current flagged');
    await s2.ok('DELETE', `/sessions/${s1.sessionId}`, undefined, 204);
    assertError(await s1.get('/me'), 401, 'unauthorized', 'revoked token');
    const closed = await within(ws1.closed, 5000 * SLOW);
    assert.ok(closed, 'the revoked session\'s socket is closed');
    assert.equal(closed.code, 4001);
    assert.ok(ws1.events.some((e) => e.type === 'session.revoked'), 'session.revoked sent before closing');
    await assert.rejects(Ws.open(s1), (e) => e.status === 401);
    // the other session is untouched
    assert.equal((await s2.get('/me')).status, 200);
    assert.equal(ws2.closeInfo, null);
    // someone else's session id is not found
    const other = await newSession(w.c);
    assertError(await s2.del(`/sessions/${other.sessionId}`), 404, 'not_found');
    assert.equal((await other.get('/me')).status, 200);
  } finally { await ws1.close(); await ws2.close(); }
});

test('admin revokes all sessions of a user; logout; disable', async () => {
  const s1 = await newSession(w.c);
  const ws1 = await Ws.open(s1);
  await w.admin.ok('DELETE', `/admin/users/${w.c.user.id}/sessions`, undefined, 204);
  const closed = await within(ws1.closed, 5000 * SLOW);
  assert.ok(closed && closed.code === 4001, `socket closed with 4001: ${JSON.stringify(closed)}`);
  assertError(await s1.get('/me'), 401, 'unauthorized');
  assertError(await w.c.get('/me'), 401, 'unauthorized', 'every session of the user');

  // logout
  const s2 = await newSession(w.c);
  const ws2 = await Ws.open(s2);
  await s2.ok('POST', '/auth/logout', {}, 204);
  const c2 = await within(ws2.closed, 5000 * SLOW);
  assert.ok(c2, 'logout closes the socket');
  assertError(await s2.get('/me'), 401, 'unauthorized');

  // disabling revokes and refuses login with the generic error
  const s3 = await newSession(w.c);
  await w.admin.ok('PATCH', `/admin/users/${w.c.user.id}`, { disabled: true }, 200);
  assertError(await s3.get('/me'), 401, 'unauthorized');
  const r = await new Api(w.srv.base).post('/auth/login', { login: w.c.login, password: w.c.password });
  assertError(r, 401, 'invalid_credentials');
  const dir = await w.a.ok('GET', '/users');
  assert.ok(!dir.users.some((u) => u.id === w.c.user.id), 'disabled accounts leave the directory');
  for (const u of dir.users) {
    for (const k of Object.keys(u)) assert.ok(['id', 'login', 'display_name', 'external'].includes(k), `directory field ${k}`);
  }
});

test('the audit log records revocations and account changes', async () => {
  await assertAudit(w.admin, ['session.revoke', 'session.revoke_all', 'auth.logout', 'user.update', 'conv.create']);
});

test('audit chain verifies after the run', async () => {
  const v = await w.admin.ok('GET', '/audit/verify');
  assert.equal(v.ok, true, JSON.stringify(v));
  auditVerify(w.srv);
});
