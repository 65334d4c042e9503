'use strict';
// Recall reaches every session of every member and removes the content;
// forward keeps provenance and goes through the guard with the target's
// scope.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world, auditVerify } = require('../lib/fixture.js');
const { Ws, send, conversation, history, newSession, assertError, assertAudit, auditEntries } = require('../lib/client.js');

const w = world({ a: {}, b: {}, c: {}, x: { external: true } });

test('recall reaches every session of every member; content gone from history', async () => {
  const conv = await conversation(w.a, [w.b, w.c], { title: 'recall' });
  const b2 = await newSession(w.b);
  const socks = [await Ws.open(w.a), await Ws.open(w.b), await Ws.open(b2), await Ws.open(w.c)];
  try {
    const text = 'wrong chat, sorry: the quarterly numbers draft';
    const r = await send(w.a, conv.id, text);
    assert.equal(r.status, 201, r.text);
    const id = r.body.message.id;
    for (const ws of socks) await ws.waitType('message.new', (e) => e.message.id === id);

    // only the sender may recall
    const notMine = await w.b.post(`/messages/${id}/recall`, {});
    assert.ok([403, 404].includes(notMine.status), `B recalls A's message: ${notMine.status} ${notMine.text}`);

    await w.a.ok('POST', `/messages/${id}/recall`, {}, 204);
    for (const ws of socks) {
      const ev = await ws.waitType('message.recalled', (e) => e.message_id === id);
      assert.equal(ev.conversation_id, conv.id);
    }
    for (const who of [w.a, w.b, w.c]) {
      const h = await history(who, conv.id);
      assert.ok(!h.text.includes('quarterly numbers'), 'the text is gone from history');
      const m = h.body.messages.find((x) => x.id === id);
      assert.ok(m, 'the message stays as a recalled marker');
      assert.equal(m.recalled, true);
      assert.equal(m.text, null);
    }
    const list = await w.b.ok('GET', '/conversations');
    assert.ok(!JSON.stringify(list).includes('quarterly numbers'), 'nor in the conversation list');

    // a recalled message cannot be forwarded
    const conv2 = await conversation(w.a, [w.c]);
    const fw = await w.a.post(`/messages/${id}/forward`, { conversation_ids: [conv2.id] });
    const st = fw.status === 200 ? fw.body.results[0].status : fw.status;
    assert.ok(st >= 400, `forwarding a recalled message fails: ${fw.text}`);

    const again = await w.a.post(`/messages/${id}/recall`, {});
    assert.ok(again.status === 204 || again.status >= 400, 'recalling twice is harmless');

    const audit = await auditEntries(w.admin);
    assert.ok(!JSON.stringify(audit).includes('quarterly numbers'), 'the audit log does not keep the recalled text');
  } finally {
    for (const ws of socks) await ws.close();
  }
});

test('forward keeps provenance along the chain', async () => {
  const ab = await conversation(w.a, [w.b]);
  const bc = await conversation(w.b, [w.c]);
  const ca = await conversation(w.c, [w.a, w.b], { title: 'forward target' });
  const wsC = await Ws.open(w.c);
  try {
    const r = await send(w.a, ab.id, 'the meeting moved to 3pm');
    assert.equal(r.status, 201, r.text);
    const orig = r.body.message;

    const f1 = await w.b.ok('POST', `/messages/${orig.id}/forward`, { conversation_ids: [bc.id] }, 200);
    assert.equal(f1.results.length, 1);
    const r1 = f1.results[0];
    assert.equal(r1.conversation_id, bc.id);
    assert.equal(r1.status, 201, JSON.stringify(r1));
    const m1 = r1.message;
    assert.equal(m1.text, orig.text);
    assert.equal(m1.sender_id, w.b.user.id, 'the forwarder sends');
    assert.deepEqual(m1.forward, { from_message_id: orig.id, original_message_id: orig.id, original_sender_id: w.a.user.id, depth: 1 });
    const ev = await wsC.waitType('message.new', (e) => e.message.id === m1.id);
    assert.deepEqual(ev.message.forward, m1.forward, 'the push carries provenance');

    const f2 = await w.c.ok('POST', `/messages/${m1.id}/forward`, { conversation_ids: [ca.id] }, 200);
    const m2 = f2.results[0].message;
    assert.deepEqual(m2.forward, { from_message_id: m1.id, original_message_id: orig.id, original_sender_id: w.a.user.id, depth: 2 });
    const h = await history(w.a, ca.id);
    assert.deepEqual(h.body.messages.find((x) => x.id === m2.id).forward, m2.forward, 'history keeps provenance');

    // forward_of on the send endpoint does the same
    const r3 = await w.c.post(`/conversations/${bc.id}/messages`, { client_id: `fw-${Date.now()}`, text: 'ignored', forward_of: m2.id });
    assert.equal(r3.status, 201, r3.text);
    assert.equal(r3.body.message.text, orig.text);
    assert.equal(r3.body.message.forward.original_message_id, orig.id);
    assert.equal(r3.body.message.forward.depth, 3);

    // forwarding a message one cannot see is 404
    const xa = await conversation(w.x, [w.a]);
    const nope = await w.x.post(`/messages/${orig.id}/forward`, { conversation_ids: [xa.id] });
    assertError(nope, 404, 'not_found');
  } finally { await wsC.close(); }
});

test('forward goes through the guard with each target scope', async () => {
  const ab = await conversation(w.a, [w.b]);
  const ax = await conversation(w.a, [w.x]);
  const text = '客户的手机号是13800138000';
  const r = await send(w.a, ab.id, text);
  assert.equal(r.body.guard.verdict, 'warn');
  const f = await w.a.ok('POST', `/messages/${r.body.message.id}/forward`, { conversation_ids: [ab.id, ax.id] }, 200);
  const internal = f.results.find((x) => x.conversation_id === ab.id);
  const external = f.results.find((x) => x.conversation_id === ax.id);
  assert.equal(internal.guard.verdict, 'warn');
  assert.equal(external.guard.verdict, 'mask');
  assert.ok(!external.message.text.includes('13800138000'), 'masked for the external conversation');
  const h = await history(w.x, ax.id);
  assert.ok(!h.text.includes('13800138000'));
});

test('the audit log records recalls and membership', async () => {
  await assertAudit(w.admin, ['message.recall', 'conv.create']);
});

test('audit chain verifies after the run', async () => {
  const v = await w.admin.ok('GET', '/audit/verify');
  assert.equal(v.ok, true, JSON.stringify(v));
  auditVerify(w.srv);
});
