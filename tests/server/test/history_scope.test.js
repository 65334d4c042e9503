'use strict';
// Who reads a group's history (docs/SERVER.md, "History and new members"):
// a member who joins later sees the messages from the moment they joined,
// unless the group shares its history; and an external member never reads
// text the guard passed for internal readers only: each earlier message is
// inspected again with the external scope (masked / withheld).
//
// Texts (default policy, `cordon check`):
//   ID_TEXT     a PRC ID number: warn inside, masked for an external reader
//   SECRET_TEXT 工作秘密: allowed inside, blocked for an external reader
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world } = require('../lib/fixture.js');
const { Ws, send, history, assertError, assertNone } = require('../lib/client.js');

const ID = '11010519491231002X';
const ID_TEXT = `客户张三的身份证号${ID}，请核对。`;
const SECRET_TEXT = '工作秘密\n关于下季度人员调整的初步方案';
const SECRET_WORDS = '人员调整';

const w = world({ a: {}, b: {}, n: {}, m: {}, x: { external: true }, y: { external: true } });

async function group(title, opts = {}) {
  return w.a.ok('POST', '/conversations', { kind: 'group', title, member_ids: [w.b.user.id], ...opts }, 201);
}

async function add(conv, who) {
  await w.a.ok('POST', `/conversations/${conv.id}/members`, { user_id: who.user.id }, 204);
}

async function sent(api, convId, text) {
  const r = await send(api, convId, text);
  assert.equal(r.status, 201, r.text);
  return r.body.message;
}

async function listed(api, convId) {
  const l = await api.ok('GET', '/conversations');
  const c = l.conversations.find((x) => x.id === convId);
  assert.ok(c, 'the conversation is listed');
  return c;
}

test('a new internal member does not see what was said before they joined', async () => {
  const conv = await group('no shared history');
  assert.equal(conv.shared_history, false, 'history is not shared by default');
  const old1 = await sent(w.a, conv.id, ID_TEXT);
  const old2 = await sent(w.b, conv.id, SECRET_TEXT);
  await add(conv, w.n);

  const h = await history(w.n, conv.id);
  assert.equal(h.status, 200, h.text);
  assert.deepEqual(h.body.messages, [], 'no message from before the join');
  assert.equal(h.body.next_before, null);
  assert.ok(!h.text.includes(ID) && !h.text.includes(SECRET_WORDS));
  // nor with a cursor pointing into the earlier history
  const h2 = await history(w.n, conv.id, `?before=${old2.id + 1}`);
  assert.deepEqual(h2.body.messages, []);

  let c = await listed(w.n, conv.id);
  assert.equal(c.last_message, null, 'the list shows no earlier last message');
  assert.equal(c.unread, 0, 'earlier messages are not unread');
  const one = await w.n.ok('GET', `/conversations/${conv.id}`);
  assert.equal(one.last_message, null, 'GET of the conversation shows none either');

  // older members still see everything
  const ha = await history(w.a, conv.id);
  assert.deepEqual(ha.body.messages.map((m) => m.id), [old2.id, old1.id]);

  // what is said after the join is theirs
  const after = await sent(w.a, conv.id, 'welcome aboard');
  const hn = await history(w.n, conv.id);
  assert.deepEqual(hn.body.messages.map((m) => m.id), [after.id]);
  c = await listed(w.n, conv.id);
  assert.equal(c.last_message.id, after.id);
  assert.equal(c.unread, 1);
});

test('forwarding a message from before the join is 404, as if it did not exist', async () => {
  const conv = await group('forward boundary');
  const old = await sent(w.a, conv.id, 'the old plan, before n joined');
  await add(conv, w.n);
  const target = await w.n.ok('POST', '/conversations', { kind: 'group', title: 'n elsewhere', member_ids: [w.m.user.id] }, 201);

  const r = await w.n.post(`/messages/${old.id}/forward`, { conversation_ids: [target.id] });
  assertError(r, 404, 'not_found', 'forward of a pre-join message');
  const r2 = await send(w.n, target.id, undefined, { forward_of: old.id });
  assertError(r2, 404, 'not_found', 'send with forward_of a pre-join message');
  const ht = await history(w.m, target.id);
  assert.ok(!ht.text.includes('old plan'), 'nothing was forwarded');
});

test('events about messages from before the join do not reach the newcomer', async () => {
  const conv = await group('events boundary');
  const old = await sent(w.a, conv.id, 'sent before n joined');
  await add(conv, w.n);
  const wsN = await Ws.open(w.n);
  const wsB = await Ws.open(w.b);
  try {
    // a read receipt of an older member about the old message
    await w.b.ok('POST', `/conversations/${conv.id}/read`, { message_id: old.id }, 204);
    await wsB.waitType('receipt', (e) => e.message_id === old.id);
    // its recall
    await w.a.ok('POST', `/messages/${old.id}/recall`, {}, 204);
    await wsB.waitType('message.recalled', (e) => e.message_id === old.id);
    // the newcomer marking the old message read moves nothing
    await w.n.ok('POST', `/conversations/${conv.id}/read`, { message_id: old.id }, 204);
    await assertNone(wsN, (e) => e.message_id === old.id || JSON.stringify(e).includes(`"message_id":${old.id}`), 800,
      'an event naming a message from before the join');
    await assertNone(wsB, (e) => e.type === 'receipt' && (e.user_ids || []).includes(w.n.user.id), 10,
      'a receipt of the newcomer for a message before the join');
    // while events after the join do reach them
    const fresh = await sent(w.a, conv.id, 'after the join');
    await wsN.waitType('message.new', (e) => e.message.id === fresh.id);
  } finally {
    await wsN.close();
    await wsB.close();
  }
});

test('with shared history an internal newcomer reads the earlier messages as sent', async () => {
  const conv = await group('shared history', { shared_history: true });
  assert.equal(conv.shared_history, true);
  const old1 = await sent(w.a, conv.id, ID_TEXT);
  const old2 = await sent(w.b, conv.id, SECRET_TEXT);
  await add(conv, w.n);
  const h = await history(w.n, conv.id);
  assert.equal(h.status, 200, h.text);
  assert.deepEqual(h.body.messages.map((m) => [m.id, m.text]), [[old2.id, SECRET_TEXT], [old1.id, ID_TEXT]]);
  const c = await listed(w.n, conv.id);
  assert.equal(c.last_message.text, SECRET_TEXT);
  assert.equal(c.unread, 0, 'shared history is not unread');
});

test('with shared history an external newcomer gets it through the external scope', async () => {
  const conv = await group('shared history, then a supplier', { shared_history: true });
  const idMsg = await sent(w.a, conv.id, ID_TEXT);
  assert.equal(idMsg.text, ID_TEXT, 'inside, the ID number is delivered (warn)');
  const secret = await sent(w.b, conv.id, SECRET_TEXT);
  assert.equal(secret.text, SECRET_TEXT, 'inside, 工作秘密 is delivered');
  const wsX = await Ws.open(w.x);
  try {
    await add(conv, w.x);
    const h = await history(w.x, conv.id);
    assert.equal(h.status, 200, h.text);
    assert.ok(!h.text.includes(ID), `the ID number is not shown verbatim: ${h.text}`);
    assert.ok(!h.text.includes(SECRET_WORDS), `工作秘密 text is not shown: ${h.text}`);
    const byId = Object.fromEntries(h.body.messages.map((m) => [m.id, m]));
    assert.ok(byId[idMsg.id], 'the ID message is there');
    assert.equal(byId[idMsg.id].masked, true, 'masked for the external reader');
    assert.ok(byId[idMsg.id].text.includes('002X') && byId[idMsg.id].text.includes('*'), byId[idMsg.id].text);
    assert.equal(byId[idMsg.id].withheld, false);
    assert.ok(byId[secret.id], 'the 工作秘密 message leaves a placeholder');
    assert.equal(byId[secret.id].text, null);
    assert.equal(byId[secret.id].withheld, true);

    const c = await listed(w.x, conv.id);
    assert.equal(c.last_message.id, secret.id);
    assert.equal(c.last_message.text, null, 'the list withholds it too');
    assert.equal(c.last_message.withheld, true);
    const one = await w.x.ok('GET', `/conversations/${conv.id}`);
    assert.equal(one.last_message.withheld, true, 'and GET of the conversation');

    // forward: the withheld one does not exist for them; the masked one
    // goes out masked
    const own = await w.x.ok('POST', '/conversations', { kind: 'group', title: 'x alone', member_ids: [w.y.user.id] }, 201);
    assertError(await w.x.post(`/messages/${secret.id}/forward`, { conversation_ids: [own.id] }), 404, 'not_found',
      'forward of a withheld message');
    const f = await w.x.ok('POST', `/messages/${idMsg.id}/forward`, { conversation_ids: [own.id] }, 200);
    assert.equal(f.results[0].status, 201, JSON.stringify(f.results[0]));
    const hy = await history(w.y, own.id);
    assert.ok(!hy.text.includes(ID), `the forward carries the masked text: ${hy.text}`);
    assert.ok(!JSON.stringify(wsX.events).includes(ID), 'no event carried the ID number');
    assert.ok(!JSON.stringify(wsX.events).includes(SECRET_WORDS), 'no event carried 工作秘密 text');

    // the internal members still read both as sent
    const hb = await history(w.b, conv.id);
    assert.ok(hb.text.includes(ID) && hb.text.includes(SECRET_WORDS));
  } finally {
    await wsX.close();
  }
});

test('only the owner or an admin sets shared history; others are told so', async () => {
  const conv = await group('settings');
  assertError(await w.b.patch(`/conversations/${conv.id}`, { shared_history: true }), 403, 'forbidden', 'a plain member');
  assertError(await w.a.patch(`/conversations/${conv.id}`, { shared_history: 'yes' }), 400, 'bad_request', 'not a boolean');
  const wsB = await Ws.open(w.b);
  try {
    const r = await w.a.ok('PATCH', `/conversations/${conv.id}`, { shared_history: true }, 200);
    assert.equal(r.shared_history, true);
    assert.equal(r.title, 'settings', 'the title is untouched');
    await wsB.waitType('conversation.updated', (e) => e.conversation.id === conv.id && e.conversation.shared_history === true);
  } finally {
    await wsB.close();
  }
  const direct = await w.a.post('/conversations', { kind: 'direct', member_ids: [w.m.user.id], shared_history: true });
  assertError(direct, 422, 'invalid', 'shared history on a direct conversation');
});
