'use strict';
// Issue 13, item 6: small fixes, one test each — TOTP enrolment twice, read
// watermarks of foreign ids, the owner of a group, disabled accounts,
// WebSocket pings and the rate limit.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world } = require('../lib/fixture.js');
const { Ws, send, conversation, makeUser, assertError, totp } = require('../lib/client.js');

const w = world({ a: {}, b: {}, c: {}, d: {} }, {
  config: { limits: { requests_per_second: 20, burst: 40 } },
});

test('TOTP enrolment when TOTP is already enabled: 409 totp_already_enabled, not 500', async () => {
  const u = await makeUser(w.admin);
  const en = await u.ok('POST', '/me/totp', {}, 200);
  assert.equal((await u.post('/me/totp/confirm', { code: totp(en.secret) })).status, 204);
  assertError(await u.post('/me/totp', {}), 409, 'totp_already_enabled');
  assert.equal((await u.ok('GET', '/me')).totp_enabled, true, 'TOTP stays enabled');
});

test('read: only a message of the conversation sets the watermark', async () => {
  const conv = await conversation(w.a, [w.b]);
  const other = await conversation(w.a, [w.c]);
  const m1 = (await send(w.a, conv.id, 'first')).body.message;
  const foreign = (await send(w.a, other.id, 'elsewhere')).body.message;
  assertError(await w.b.post(`/conversations/${conv.id}/read`, { message_id: 2 ** 53 }), 404, 'not_found', 'huge id');
  assertError(await w.b.post(`/conversations/${conv.id}/read`, { message_id: foreign.id + 1000 }), 404, 'not_found', 'no such message');
  assertError(await w.b.post(`/conversations/${conv.id}/read`, { message_id: foreign.id }), 404, 'not_found', 'a message of another conversation');
  assertError(await w.b.post(`/conversations/${conv.id}/read`, { message_id: 0 }), 422, 'invalid', 'id 0');
  assertError(await w.b.post(`/conversations/${conv.id}/read`, { message_id: -5 }), 422, 'invalid', 'negative id');
  // the bogus watermarks were not stored: a later message is still unread
  const m2 = (await send(w.a, conv.id, 'second')).body.message;
  let list = (await w.b.ok('GET', '/conversations')).conversations;
  assert.equal(list.find((c) => c.id === conv.id).unread, 2, 'both messages unread');
  await w.b.ok('POST', `/conversations/${conv.id}/read`, { message_id: m1.id }, 204);
  list = (await w.b.ok('GET', '/conversations')).conversations;
  assert.equal(list.find((c) => c.id === conv.id).unread, 1, 'a real id still works');
  assert.ok(m2.id > m1.id);

  // the same over the WebSocket
  const ws = await Ws.open(w.b);
  try {
    ws.send({ type: 'read', req: 7, conversation_id: conv.id, message_id: 2 ** 53 });
    const e = await ws.waitType('error', (x) => x.req === 7);
    assert.equal(e.error.code, 'not_found');
  } finally {
    await ws.close();
  }
  list = (await w.b.ok('GET', '/conversations')).conversations;
  assert.equal(list.find((c) => c.id === conv.id).unread, 1, 'the frame changed nothing');
});

test('group owner: a group admin cannot remove the owner (nor take the group over)', async () => {
  const g = await conversation(w.a, [w.b, w.c], { title: 'owned' });
  await w.a.ok('PATCH', `/conversations/${g.id}/members/${w.b.user.id}`, { role: 'admin' }, 204);
  assertError(await w.b.del(`/conversations/${g.id}/members/${w.a.user.id}`), 403, 'forbidden', 'admin removes owner');
  const after = await w.a.ok('GET', `/conversations/${g.id}`);
  const role = (id) => after.members.find((m) => m.user_id === id)?.role;
  assert.equal(role(w.a.user.id), 'owner', 'the owner stays');
  assert.equal(role(w.b.user.id), 'admin', 'the admin did not become owner');
  assertError(await w.b.patch(`/conversations/${g.id}/members/${w.a.user.id}`, { role: 'member' }), 403, 'forbidden', 'admin demotes owner');
  // a group admin still removes ordinary members; the owner removes admins
  await w.b.ok('DELETE', `/conversations/${g.id}/members/${w.c.user.id}`, undefined, 204);
  await w.a.ok('DELETE', `/conversations/${g.id}/members/${w.b.user.id}`, undefined, 204);
  // an organisation admin who administers the group may remove its owner
  const g2 = await conversation(w.a, [w.admin, w.c], { title: 'org admin' });
  await w.a.ok('PATCH', `/conversations/${g2.id}/members/${w.admin.user.id}`, { role: 'admin' }, 204);
  await w.admin.ok('DELETE', `/conversations/${g2.id}/members/${w.a.user.id}`, undefined, 204);
  const g2after = await w.admin.ok('GET', `/conversations/${g2.id}`);
  assert.ok(!g2after.members.some((m) => m.user_id === w.a.user.id));
});

test('disabled accounts cannot be added to groups or direct chats: 422 user_disabled', async () => {
  const gone = await makeUser(w.admin);
  await w.admin.ok('PATCH', `/admin/users/${gone.user.id}`, { disabled: true }, 200);
  assertError(await w.a.post('/conversations', { kind: 'direct', member_ids: [gone.user.id] }), 422, 'user_disabled', 'direct');
  assertError(await w.a.post('/conversations', { kind: 'group', title: 'g', member_ids: [w.b.user.id, gone.user.id] }), 422, 'user_disabled', 'group create');
  const g = await conversation(w.a, [w.b], { title: 'no ghosts' });
  assertError(await w.a.post(`/conversations/${g.id}/members`, { user_id: gone.user.id }), 422, 'user_disabled', 'member add');
  const after = await w.a.ok('GET', `/conversations/${g.id}`);
  assert.equal(after.members.length, 2, 'nobody was added');
  // enabled again: allowed
  await w.admin.ok('PATCH', `/admin/users/${gone.user.id}`, { disabled: false }, 200);
  await w.a.ok('POST', `/conversations/${g.id}/members`, { user_id: gone.user.id }, 204);
});

test('WebSocket ping frames count against the rate limit', async () => {
  const ws = await Ws.open(w.d);
  try {
    for (let i = 0; i < 200; i++) ws.send({ type: 'ping', req: i });
    const e = await ws.waitType('error', (x) => x.error && x.error.code === 'rate_limited');
    assert.ok(typeof e.req === 'number', 'the refused ping is named');
    const pongs = ws.find((x) => x.type === 'pong').length;
    assert.ok(pongs < 200, `not every ping answered (${pongs})`);
    assert.ok(pongs >= 30, `the burst is answered (${pongs})`);
  } finally {
    await ws.close();
  }
});
