'use strict';
// Issue 17 (a console for officers): what the web client needs from the
// server to word things in the user's language — the conversation an alert
// is about (officers are seldom members), the limit of a too-large message,
// and why a new password was refused, as codes and parameters.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world } = require('../lib/fixture.js');
const { send, conversation, assertError } = require('../lib/client.js');

const w = world({ a: {}, b: {}, off: { role: 'officer' } });

test('alerts name their conversation: a group by its title, a direct chat by its two members', async () => {
  const group = await conversation(w.a, [w.b], { title: '项目组' });
  const direct = await conversation(w.a, [w.b]);
  assertError(await send(w.a, group.id, '绝密★30年\n关于某项目的通知'), 403, 'guard_blocked');
  assertError(await send(w.a, direct.id, '绝密★30年\n关于另一项目的通知'), 403, 'guard_blocked');
  const list = await w.off.ok('GET', '/alerts');
  const g = list.alerts.find((x) => x.conversation_id === group.id);
  const d = list.alerts.find((x) => x.conversation_id === direct.id);
  assert.ok(g && d, 'both alerts listed');
  assert.deepEqual(g.conversation, { kind: 'group', title: '项目组', external: false });
  assert.equal(d.conversation.kind, 'direct');
  assert.deepEqual([...d.conversation.member_ids].sort((x, y) => x - y), [w.a.user.id, w.b.user.id].sort((x, y) => x - y));
  // the single alert too, and after handling it
  assert.equal((await w.off.ok('GET', `/alerts/${g.id}`)).conversation.title, '项目组');
  assert.equal((await w.off.ok('POST', `/alerts/${g.id}/ack`, {})).conversation.title, '项目组');
});

test('422 message_too_large carries the limit as max (send and pre-check)', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'big' });
  const text = 'x'.repeat(16385);
  const r = await send(w.a, conv.id, text);
  assertError(r, 422, 'message_too_large');
  assert.equal(r.body.error.max, 16384);
  const c = await w.a.post('/guard/check', { text });
  assertError(c, 422, 'message_too_large');
  assert.equal(c.body.error.max, 16384);
});

test('a refused new password says why as a code', async () => {
  const cases = [
    ['short-pw', 'too_short'],
    ['ababababab', 'too_few_distinct'],
    [`x${w.a.login}-long-enough`, 'contains_login'],
    [w.a.password, 'same_as_old'],
  ];
  for (const [pw, reason] of cases) {
    const r = await w.a.post('/auth/password', { old_password: w.a.password, new_password: pw });
    assertError(r, 422, 'invalid', pw);
    assert.equal(r.body.error.reason, reason, `${pw}: ${r.text}`);
  }
});
