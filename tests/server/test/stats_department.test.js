'use strict';
// The dashboard's department and group dimensions (docs/API.md, "Stats"):
// an admin sets each user's department; alerts over a period are counted by
// the department of the user they are about and by conversation, by the
// server, over any period.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world } = require('../lib/fixture.js');
const { send, conversation, assertError, auditEntries } = require('../lib/client.js');

const w = world({ off: { role: 'officer' }, a: {}, b: {}, c: {} });
const T0 = Date.now() - 1000;

test('an admin sets and clears a department; it is in the user record and audited', async () => {
  const r = await w.admin.ok('PATCH', `/admin/users/${w.a.user.id}`, { department: '销售部' }, 200);
  assert.equal(r.department, '销售部');
  await w.admin.ok('PATCH', `/admin/users/${w.b.user.id}`, { department: '销售部' }, 200);
  await w.admin.ok('PATCH', `/admin/users/${w.c.user.id}`, { department: '研发部' }, 200);
  const list = await w.admin.ok('GET', '/admin/users');
  const users = list.users || list;
  assert.equal(users.find((u) => u.id === w.c.user.id).department, '研发部');
  const cleared = await w.admin.ok('PATCH', `/admin/users/${w.off.user.id}`, { department: '保密办' }, 200);
  assert.equal(cleared.department, '保密办');
  assert.equal((await w.admin.ok('PATCH', `/admin/users/${w.off.user.id}`, { department: '' }, 200)).department, null);
  assertError(await w.admin.req('PATCH', `/admin/users/${w.a.user.id}`, { department: 7 }), 400, 'bad_request');
  assertError(await w.a.req('PATCH', `/admin/users/${w.a.user.id}`, { department: '总经办' }), 403, 'forbidden');
  const audit = await auditEntries(w.admin);
  assert.ok(audit.some((e) => e.event === 'user.update' && e.detail.department === '研发部'));
});

test('stats by department and by group, counted by the server', async () => {
  const sales = await conversation(w.a, [w.b], { title: '销售群' });
  const dev = await conversation(w.c, [w.a], { title: '研发群' });
  // a: 2 alerts in 销售群, b: 1 in 销售群, c: 1 in 研发群 (each a phone number: warn)
  for (const [who, conv, num] of [[w.a, sales, '13800138001'], [w.a, sales, '13800138002'], [w.b, sales, '13800138003'], [w.c, dev, '13800138004']]) {
    const r = await send(who, conv.id, `电话 ${num}`);
    assert.equal(r.body.guard.verdict, 'warn', r.text);
  }
  const s = await w.off.ok('GET', `/officer/stats?from=${T0}&to=${Date.now() + 1000}&by=department`);
  assert.equal(s.by, 'department');
  assert.equal(s.total, 4);
  assert.equal(s.by_department['销售部'].count, 3);
  assert.equal(s.by_department['研发部'].count, 1);
  assert.deepEqual(Object.keys(s.by_department['销售部'].by_category), ['pii']);
  assert.deepEqual(s.by_group.map((g) => [g.title, g.count, g.kind]), [['销售群', 3, 'group'], ['研发群', 1, 'group']]);
  assert.equal(s.by_group[0].conversation_id, sales.id);
  // a period before anything happened is empty
  const none = await w.off.ok('GET', `/officer/stats?from=${T0 - 86400000}&to=${T0}&by=group`);
  assert.deepEqual([none.total, none.by_department, none.by_group], [0, {}, []]);
  assertError(await w.off.get('/officer/stats?by=weather'), 400, 'bad_request');
  assertError(await w.a.get('/officer/stats?by=department'), 403, 'forbidden');
});
