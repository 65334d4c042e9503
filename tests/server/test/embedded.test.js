'use strict';
// Files and text smuggled into a message as base64 or data: URLs are
// inspected as what they decode to, on the send and on the pre-check: a
// marking encoded in base64 is blocked like the marking itself, with the
// finding's location naming the run; a data: URL that cannot be read is
// held; a list of commit hashes stays an ordinary message.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world } = require('../lib/fixture.js');
const { send, conversation } = require('../lib/client.js');

const w = world({ a: {}, b: {} });
const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');

test('a marking in base64 is blocked on the send and on the pre-check, with its location', async () => {
  const conv = await conversation(w.a, [w.b]);
  const text = '转发一下：' + b64('机密★10年 关于某项目的请示');
  const r = await send(w.a, conv.id, text);
  assert.equal(r.status, 403, r.text);
  assert.equal(r.body.error.code, 'guard_blocked');
  const f = r.body.guard.findings.find((x) => x.rule === 'marking.classified');
  assert.ok(f, JSON.stringify(r.body.guard));
  assert.equal(f.location, `(base64 at byte ${Buffer.byteLength('转发一下：')})`);
  const c = await w.a.post('/guard/check', { text, conversation_id: conv.id });
  assert.equal(c.status, 200);
  assert.equal(c.body.verdict, 'block');
  const h = await w.b.get(`/conversations/${conv.id}/messages`);
  assert.equal(h.body.messages.length, 0, 'nothing was delivered');
});

test('a data: URL that cannot be read is held; hashes are not files', async () => {
  const conv = await conversation(w.a, [w.b]);
  const held = await send(w.a, conv.id, 'data:application/pdf;base64,JVBERi0xLjQKx');
  assert.equal(held.status, 409, held.text);
  assert.equal(held.body.error.code, 'guard_confirm');
  assert.ok(held.body.guard.findings.some((x) => x.rule === 'uninspectable.corrupt'), held.text);
  // commit hashes look like base64 but are nobody's file
  const hashes = Array.from({ length: 20 }, (_, i) => `提交 ${(BigInt(i) * 7919n + 10n ** 30n).toString(16).padStart(64, '0')}`).join('\n');
  const ok = await send(w.a, conv.id, hashes);
  assert.equal(ok.status, 201, ok.text);
});
