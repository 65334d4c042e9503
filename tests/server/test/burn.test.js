'use strict';
// Burn-after-reading (阅后即焚): recipients see that a burn message arrived,
// not its content, until they open it — once each; the sender never again;
// it cannot be forwarded; it is destroyed a configured time after every
// reader opened it, or unopened after another; destroyed means no trace of
// the text in any file of the data directory (database, WAL, free pages;
// on PostgreSQL: in any row of any table, srv.storedIn);
// the delete event carries no content.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { world } = require('../lib/fixture.js');
const { Ws, send, conversation, history, assertError, auditEntries } = require('../lib/client.js');
const { sleep } = require('../lib/server.js');

const w = world({ a: {}, b: {}, c: {} }, { config: { burn_after_open_seconds: 2, burn_unopened_seconds: 6 } });

const secret = () => `the vault code is ${crypto.randomBytes(6).toString('hex')}`;

test('1:1: hidden until opened, opened once, never by the sender, destroyed from disk', async () => {
  const conv = await conversation(w.a, [w.b]);
  const text = secret();
  const wa = await Ws.open(w.a);
  const wb = await Ws.open(w.b);
  try {
    const r = await send(w.a, conv.id, text, { burn: true });
    assert.equal(r.status, 201, r.text);
    const m = r.body.message;
    assert.equal(m.burn, true);
    assert.equal(m.text, null, 'not even the sender\'s answer carries the text');
    // the control: until destroyed, the text is stored (so the check below can see it)
    assert.ok(w.srv.storedIn(text).length > 0, 'stored before destruction');
    const ev = await wb.waitType('message.new', (e) => e.message.id === m.id);
    assert.equal(ev.message.text, null);
    assert.ok(!JSON.stringify(wb.events).includes(text), 'no event carries the text');
    for (const who of [w.a, w.b]) {
      const h = await history(who, conv.id);
      assert.ok(!h.text.includes(text), 'history shows no content');
      assert.equal(h.body.messages.find((x) => x.id === m.id).burn, true);
      const list = await who.get('/conversations');
      assert.ok(!list.text.includes(text), 'the conversation list shows no content');
    }
    // never forwarded
    const other = await conversation(w.b, [w.c]);
    const fw = await w.b.post(`/messages/${m.id}/forward`, { conversation_ids: [other.id] });
    assertError(fw, 422, 'burn_forbidden');
    // the sender cannot open it
    assertError(await w.a.post(`/messages/${m.id}/open`), 403, 'burn_sender');
    // C is no member: no such message
    assertError(await w.c.post(`/messages/${m.id}/open`), 404, 'not_found');
    // B opens it once
    const o = await w.b.ok('POST', `/messages/${m.id}/open`, {}, 200);
    assert.equal(o.text, text);
    assert.equal(o.visible_seconds, 2);
    await wa.waitType('burn.opened', (e) => e.message_id === m.id && e.user_id === w.b.user.id);
    assertError(await w.b.post(`/messages/${m.id}/open`), 409, 'burn_opened');
    // destroyed 2 s later: an event with ids only, to both
    for (const ws of [wa, wb]) {
      const d = await ws.waitType('message.burned', (e) => e.message_id === m.id, 10000);
      assert.deepEqual(Object.keys(d).sort(), ['conversation_id', 'message_id', 'type']);
    }
    const h = await history(w.b, conv.id);
    const gone = h.body.messages.find((x) => x.id === m.id);
    assert.equal(gone.burn_destroyed, true);
    assertError(await w.b.post(`/messages/${m.id}/open`), 404, 'not_found');
    // no trace in any file of the data directory: database, WAL, free pages
    // (PostgreSQL: in no row)
    assert.deepEqual(w.srv.storedIn(text), [], 'the text is gone from disk');
    const audit = await auditEntries(w.admin);
    assert.ok(audit.some((e) => e.event === 'message.burned' && e.target === `message:${m.id}`));
    assert.ok(!JSON.stringify(audit).includes(text));
  } finally {
    await wa.close();
    await wb.close();
  }
});

test('group: each member opens once; destroyed when all opened', async () => {
  const conv = await conversation(w.a, [w.b, w.c], { title: 'burn group' });
  const text = secret();
  const m = (await send(w.a, conv.id, text, { burn: true })).body.message;
  assert.equal((await w.b.ok('POST', `/messages/${m.id}/open`, {}, 200)).text, text);
  await sleep(3000);
  const h = await history(w.c, conv.id);
  assert.equal(h.body.messages.find((x) => x.id === m.id).burn_destroyed, false, 'C has not opened it yet');
  assert.equal((await w.c.ok('POST', `/messages/${m.id}/open`, {}, 200)).text, text);
  await sleep(3500);
  const h2 = await history(w.c, conv.id);
  assert.equal(h2.body.messages.find((x) => x.id === m.id).burn_destroyed, true);
  assert.deepEqual(w.srv.storedIn(text), []);
});

test('unopened: destroyed after the configured time', async () => {
  const conv = await conversation(w.a, [w.c]);
  const text = secret();
  const wc = await Ws.open(w.c);
  try {
    const m = (await send(w.a, conv.id, text, { burn: true })).body.message;
    const d = await wc.waitType('message.burned', (e) => e.message_id === m.id, 15000);
    assert.equal(d.conversation_id, conv.id);
    assertError(await w.c.post(`/messages/${m.id}/open`), 404, 'not_found');
    assert.deepEqual(w.srv.storedIn(text), []);
  } finally {
    await wc.close();
  }
});

test('the guard inspects burn content like any other', async () => {
  const conv = await conversation(w.a, [w.b]);
  const r = await send(w.a, conv.id, '机密★10年 会议纪要', { burn: true });
  assert.ok([403, 409].includes(r.status), `${r.status} ${r.text}`);
  assertError(await send(w.a, conv.id, 'x', { burn: 'yes' }), 400, 'bad_request');
});
