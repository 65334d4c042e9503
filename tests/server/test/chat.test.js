'use strict';
// Two members chat live: push over WebSocket, history, receipts, the
// conversation list, idempotent sends, paging, the WS fast path.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world, auditVerify } = require('../lib/fixture.js');
const { Ws, send, conversation, history, newSession, assertAudit } = require('../lib/client.js');

const w = world({ a: {}, b: {}, c: {} });

test('two members chat live: push, history, delivery and read receipts', async () => {
  const wsA = await Ws.open(w.a);
  const wsB = await Ws.open(w.b, { query: true });
  try {
    const hello = wsB.events.find((e) => e.type === 'hello');
    assert.equal(hello.user.id, w.b.user.id, 'hello names the user');

    const conv = await conversation(w.a, [w.b]);
    assert.equal(conv.kind, 'direct');
    assert.equal(conv.external, false);
    const ids = conv.members.map((m) => m.user_id).sort();
    assert.deepEqual(ids, [w.a.user.id, w.b.user.id].sort());

    const r = await send(w.a, conv.id, 'hello B, lunch at noon?');
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.guard.verdict, 'allow');
    assert.equal(r.body.guard.decided_by, null);
    const msg = r.body.message;
    assert.equal(msg.text, 'hello B, lunch at noon?');
    assert.equal(msg.sender_id, w.a.user.id);
    assert.equal(msg.conversation_id, conv.id);
    assert.equal(msg.masked, false);

    const pushB = await wsB.waitType('message.new', (e) => e.message.id === msg.id);
    assert.equal(pushB.message.text, msg.text);
    assert.equal(pushB.message.sender_id, w.a.user.id);
    // the sender's own sessions get it too
    await wsA.waitType('message.new', (e) => e.message.id === msg.id);

    const del = await wsA.waitType('receipt', (e) => e.kind === 'delivered' &&
      e.conversation_id === conv.id && e.message_id >= msg.id && (e.user_ids || []).includes(w.b.user.id));
    assert.ok(del, 'delivery receipt to the sender');

    for (const who of [w.a, w.b]) {
      const h = await history(who, conv.id);
      assert.equal(h.status, 200, h.text);
      const got = h.body.messages.filter((m) => m.id === msg.id);
      assert.equal(got.length, 1, 'history has the message once');
      assert.equal(got[0].text, msg.text);
    }

    let list = await w.b.ok('GET', '/conversations');
    let entry = list.conversations.find((c) => c.id === conv.id);
    assert.ok(entry, 'conversation listed for B');
    assert.equal(entry.last_message && entry.last_message.id, msg.id);
    assert.equal(entry.unread, 1, 'one unread for B');

    await w.b.ok('POST', `/conversations/${conv.id}/read`, { message_id: msg.id }, 204);
    const rd = await wsA.waitType('receipt', (e) => e.kind === 'read' && e.message_id === msg.id &&
      (e.user_ids || []).includes(w.b.user.id));
    assert.equal(rd.conversation_id, conv.id);
    list = await w.b.ok('GET', '/conversations');
    entry = list.conversations.find((c) => c.id === conv.id);
    assert.equal(entry.unread, 0, 'read clears unread');

    // B answers; A gets it live
    const r2 = await send(w.b, conv.id, 'yes, see you');
    assert.equal(r2.status, 201, r2.text);
    await wsA.waitType('message.new', (e) => e.message.id === r2.body.message.id);
  } finally {
    await wsA.close();
    await wsB.close();
  }
});

test('a direct conversation between the same two is returned, not duplicated', async () => {
  const first = await conversation(w.a, [w.c]);
  const again = await w.c.req('POST', '/conversations', { kind: 'direct', member_ids: [w.a.user.id] });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.id, first.id);
});

test('client_id makes a send idempotent', async () => {
  const conv = await conversation(w.a, [w.b]);
  const body = { client_id: `idem-${Date.now()}`, text: 'only once please' };
  const r1 = await w.a.post(`/conversations/${conv.id}/messages`, body);
  assert.equal(r1.status, 201, r1.text);
  const r2 = await w.a.post(`/conversations/${conv.id}/messages`, body);
  assert.equal(r2.status, 200, `a repeated client_id answers 200: ${r2.text}`);
  assert.equal(r2.body.message.id, r1.body.message.id);
  const h = await history(w.b, conv.id, '?limit=200');
  assert.equal(h.body.messages.filter((m) => m.client_id === body.client_id).length, 1);
});

test('history pages newest first with a cursor and no duplicates', async () => {
  const conv = await conversation(w.a, [w.b, w.c], { title: 'paging' });
  const sent = [];
  for (let i = 0; i < 7; i++) {
    const r = await send(w.a, conv.id, `page message ${i}`);
    assert.equal(r.status, 201, r.text);
    sent.push(r.body.message.id);
  }
  const seen = [];
  let q = '?limit=3';
  for (let i = 0; i < 10; i++) {
    const h = await history(w.c, conv.id, q);
    assert.equal(h.status, 200, h.text);
    assert.ok(h.body.messages.length <= 3, 'limit respected');
    seen.push(...h.body.messages.map((m) => m.id));
    if (h.body.next_before === null || h.body.next_before === undefined) break;
    q = `?limit=3&before=${h.body.next_before}`;
  }
  assert.deepEqual(seen, [...sent].reverse(), 'all pages, newest first, each once');
});

test('WebSocket fast path: message.send is acked and pushed; ping answers pong', async () => {
  const conv = await conversation(w.a, [w.b]);
  const wsA = await Ws.open(w.a);
  const b2 = await newSession(w.b);
  const wsB = await Ws.open(b2);
  try {
    wsA.send({ type: 'ping', req: 7 });
    await wsA.waitType('pong');
    wsA.send({ type: 'message.send', req: 41, conversation_id: conv.id, client_id: `ws-${Date.now()}`, text: 'sent over the socket' });
    const ack = await wsA.waitFor((e) => e.req === 41);
    assert.equal(ack.type, 'message.ack', JSON.stringify(ack));
    assert.equal(ack.guard.verdict, 'allow');
    await wsB.waitType('message.new', (e) => e.message.id === ack.message.id && e.message.text === 'sent over the socket');
    // a frame for a conversation one is not a member of: error, socket stays
    wsA.send({ type: 'message.send', req: 42, conversation_id: 987654321, client_id: 'x', text: 'nobody' });
    const err = await wsA.waitFor((e) => e.req === 42);
    assert.equal(err.type, 'error');
    assert.equal(err.error.code, 'not_found');
    wsA.send({ type: 'ping', req: 43 });
    await wsA.waitFor((e) => e.type === 'pong' && e.req === 43);
  } finally {
    await wsA.close();
    await wsB.close();
  }
});

test('group: create, rename, members added/removed get events', async () => {
  const wsC = await Ws.open(w.c);
  try {
    const g = await conversation(w.a, [w.b], { title: 'project x' });
    assert.equal(g.kind, 'group');
    assert.equal(g.my_role, 'owner');
    await w.a.ok('POST', `/conversations/${g.id}/members`, { user_id: w.c.user.id }, 204);
    await wsC.waitFor((e) => (e.type === 'member.added' && e.conversation_id === g.id && e.user_id === w.c.user.id) ||
      (e.type === 'conversation.updated' && e.conversation.id === g.id));
    const renamed = await w.a.ok('PATCH', `/conversations/${g.id}`, { title: 'project y' });
    assert.equal(renamed.title, 'project y');
    await wsC.waitType('conversation.updated', (e) => e.conversation.title === 'project y');
    // a plain member cannot add people
    const r = await w.c.post(`/conversations/${g.id}/members`, { user_id: w.a.user.id });
    assert.equal(r.status, 403, r.text);
    await w.c.ok('POST', `/conversations/${g.id}/leave`, {}, 204);
    const gone = await w.c.get(`/conversations/${g.id}`);
    assert.equal(gone.status, 404, 'after leaving, the conversation is not visible');
  } finally {
    await wsC.close();
  }
});

test('the audit log records conversations and membership, never message text', async () => {
  const entries = await assertAudit(w.admin, ['conv.create', 'conv.member_add']);
  assert.ok(!JSON.stringify(entries).includes('lunch at noon'), 'no message text in the audit log');
});

test('audit chain verifies after the run', async () => {
  const v = await w.admin.ok('GET', '/audit/verify');
  assert.equal(v.ok, true, JSON.stringify(v));
  auditVerify(w.srv);
});
