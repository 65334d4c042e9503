'use strict';
// Contact cards (名片): a card shared into a chat refers to the account and
// is rendered with the viewer's rights (phone masked 138****5678 unless
// the viewer is the person or staff); the recipient opens a 1:1 chat from
// it; an external contact's card shared into an internal group is audited.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world } = require('../lib/fixture.js');
const { Ws, conversation, history, assertError, auditEntries } = require('../lib/client.js');

const w = world({ a: {}, b: {}, c: {}, o: { role: 'officer' }, x: { external: true } });

let seq = 0;
const card = (api, convId, userId) =>
  api.post(`/conversations/${convId}/messages`, { client_id: `card-${process.pid}-${++seq}`, card_user_id: userId });

test('a card refers to the account; the phone is masked unless the viewer may see it', async () => {
  await w.admin.ok('PATCH', `/admin/users/${w.c.user.id}`, { phone: '13812345678' }, 200);
  const bad = await w.admin.patch(`/admin/users/${w.c.user.id}`, { phone: 'call me' });
  assertError(bad, 422, 'invalid');
  assert.equal(bad.body.error.field, 'phone', 'the client words it');
  // the console's user list carries the number in full
  const listed = (await w.admin.ok('GET', '/admin/users')).users.find((u) => u.id === w.c.user.id);
  assert.equal(listed.phone, '13812345678');
  const conv = await conversation(w.a, [w.b]);
  const wb = await Ws.open(w.b);
  try {
    const r = await card(w.a, conv.id, w.c.user.id);
    assert.equal(r.status, 201, r.text);
    const m = r.body.message;
    assert.equal(m.kind, 'card');
    assert.deepEqual(m.card, { user_id: w.c.user.id });
    assert.ok(!r.text.includes('13812345678') && !r.text.includes(w.c.login), 'the message copies no personal data');
    const ev = await wb.waitType('message.new', (e) => e.message.id === m.id);
    assert.deepEqual(ev.message.card, { user_id: w.c.user.id });

    const seenByB = (await w.b.ok('GET', `/users/${w.c.user.id}/card`)).card;
    assert.equal(seenByB.phone, '138****5678');
    assert.equal(seenByB.phone_masked, true);
    assert.equal(seenByB.login, w.c.login);
    assert.equal((await w.c.ok('GET', `/users/${w.c.user.id}/card`)).card.phone, '13812345678', 'the person sees their own number');
    assert.equal((await w.o.ok('GET', `/users/${w.c.user.id}/card`)).card.phone, '13812345678', 'an officer sees it');
    assert.equal((await w.b.ok('GET', `/users/${w.a.user.id}/card`)).card.phone, null, 'no phone: null');
    assertError(await w.b.get('/users/999999/card'), 404, 'not_found');

    // rendered now, not copied: a new number shows on the old card
    await w.admin.ok('PATCH', `/admin/users/${w.c.user.id}`, { phone: '13900001111' }, 200);
    assert.equal((await w.b.ok('GET', `/users/${w.c.user.id}/card`)).card.phone, '139****1111');

    // the audit log says a number was set, never which
    const audit = await auditEntries(w.admin);
    const upd = audit.filter((e) => e.event === 'user.update' && e.target === `user:${w.c.user.id}`);
    assert.ok(upd.length >= 2 && upd.every((e) => e.detail.phone === 'set'), JSON.stringify(upd));
    assert.ok(!JSON.stringify(audit).includes('13812345678') && !JSON.stringify(audit).includes('13900001111'));

    // the recipient opens a 1:1 chat from it
    const dm = await w.b.ok('POST', '/conversations', { kind: 'direct', member_ids: [m.card.user_id] }, [200, 201]);
    assert.equal(dm.kind, 'direct');
    assert.ok(dm.members.some((x) => x.user_id === w.c.user.id));
  } finally {
    await wb.close();
  }
});

test('bad cards are refused; non-members cannot share into a chat', async () => {
  const conv = await conversation(w.a, [w.b]);
  assertError(await card(w.a, conv.id, 999999), 404, 'not_found');
  assertError(await card(w.c, conv.id, w.b.user.id), 404, 'not_found');
  assertError(await w.a.post(`/conversations/${conv.id}/messages`, { client_id: 'z', card_user_id: 'c' }), 400, 'bad_request');
});

test('an external contact\'s card into an internal group is audited; an internal card is not', async () => {
  const group = await conversation(w.a, [w.b, w.c], { title: 'internal group' });
  const ext = (await card(w.a, group.id, w.x.user.id)).body.message;
  const int = (await card(w.a, group.id, w.b.user.id)).body.message;
  const audit = await auditEntries(w.admin);
  const shared = audit.filter((e) => e.event === 'card.external_shared');
  assert.deepEqual(shared.map((e) => e.target), [`message:${ext.id}`]);
  assert.equal(shared[0].actor, w.a.login);
  assert.deepEqual(shared[0].detail, { conversation: group.id, user: w.x.user.id });
  assert.ok(!shared.some((e) => e.target === `message:${int.id}`));
  const h = await history(w.c, group.id);
  assert.equal(h.body.messages.filter((m) => m.kind === 'card').length, 2);
});
