'use strict';
// Text that users type and other people see outside messages — group
// titles and display names — passes the guard with its audience's scope and
// a shape check (docs/SERVER.md, "Titles and names"): at most 128 / 64
// characters (code points), no control characters, no direction overrides.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world } = require('../lib/fixture.js');
const { assertError } = require('../lib/client.js');

const ID = '11010519491231002X';
const BLOCK_TITLE = '机密★1年 项目组';
const INTERNAL_TITLE = '工作秘密'; // a marking on its own: warn inside, block outside

const w = world({ a: {}, b: {}, x: { external: true }, off: { role: 'officer' } });

function group(api, title, members) {
  return api.post('/conversations', { kind: 'group', title, member_ids: members.map((m) => m.user.id) });
}

const BAD = {
  'a line feed': 'line one\nline two',
  'DEL': 'del\u007f',
  'a C1 control': 'next\u0085line',
  'a right-to-left override': 'invoice\u202Efdp.exe',
  'an isolate': 'name\u2067x\u2069',
  'an embedding': '\u202Bembedded',
};

test('a title has at most 128 characters, counted in code points', async () => {
  const ok = await group(w.a, '群'.repeat(128), [w.b]);
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.body.title, '群'.repeat(128));
  const long = await group(w.a, '群'.repeat(129), [w.b]);
  assertError(long, 422, 'title_too_long', '129 characters');
  assert.equal(long.body.error.field, 'title');
  assert.equal(long.body.error.max, 128);
  const huge = await group(w.a, 'x'.repeat(60000), [w.b]);
  assertError(huge, 422, 'title_too_long', '60 KB');
  const renamed = await w.a.patch(`/conversations/${ok.body.id}`, { title: 'y'.repeat(129) });
  assertError(renamed, 422, 'title_too_long', 'PATCH');
});

test('a title with control or direction characters is refused, naming the field', async () => {
  const conv = await w.a.ok('POST', '/conversations', { kind: 'group', title: 'clean', member_ids: [w.b.user.id] }, 201);
  for (const [what, title] of Object.entries(BAD)) {
    const r = await group(w.a, title, [w.b]);
    assertError(r, 422, 'title_invalid', `create with ${what}`);
    assert.equal(r.body.error.field, 'title');
    assertError(await w.a.patch(`/conversations/${conv.id}`, { title }), 422, 'title_invalid', `PATCH with ${what}`);
  }
  // bytes that are not UTF-8 never reach a title
  const raw = Buffer.concat([Buffer.from('{"kind":"group","member_ids":[],"title":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
  const r = await w.a.req('POST', '/conversations', undefined, { raw });
  assert.ok(r.status >= 400 && r.status < 500 && r.body && r.body.error && r.body.error.code, `invalid UTF-8: ${r.status} ${r.text}`);
  // nor does a NUL: the body parser refuses it
  const nul = await w.a.req('POST', '/conversations', undefined, { raw: '{"kind":"group","member_ids":[],"title":"a\\u0000b"}' });
  assert.ok(nul.status >= 400 && nul.status < 500 && nul.body && nul.body.error && nul.body.error.code, `NUL: ${nul.status} ${nul.text}`);
  const again = await w.a.ok('GET', `/conversations/${conv.id}`);
  assert.equal(again.title, 'clean');
});

test('a title passes the guard with the conversation scope', async () => {
  // blocked everywhere: refused with the findings, and the officers know
  const r = await group(w.a, BLOCK_TITLE, [w.b]);
  assertError(r, 422, 'guard_blocked', 'a classified marking in a title');
  assert.equal(r.body.error.field, 'title');
  assert.equal(r.body.guard.verdict, 'block');
  assert.ok(r.body.guard.findings.length > 0 && r.body.guard.findings[0].rule, JSON.stringify(r.body.guard));
  const alerts = await w.off.ok('GET', '/alerts');
  assert.ok(alerts.alerts.some((a) => a.user_id === w.a.user.id && a.verdict === 'block'), 'an alert for the officers');

  // 工作秘密 is fine inside, refused for an external audience
  const inside = await group(w.a, INTERNAL_TITLE, [w.b]);
  assert.equal(inside.status, 201, inside.text);
  assert.equal(inside.body.title, INTERNAL_TITLE);
  const outside = await group(w.a, INTERNAL_TITLE, [w.b, w.x]);
  assertError(outside, 422, 'guard_blocked', '工作秘密 in the title of an external group');
  const ext = await w.a.ok('POST', '/conversations', { kind: 'group', title: 'supplier', member_ids: [w.x.user.id] }, 201);
  assertError(await w.a.patch(`/conversations/${ext.id}`, { title: INTERNAL_TITLE }), 422, 'guard_blocked', 'PATCH of an external group');

  // an ID number: warned inside (kept), masked for an external audience
  const warned = await group(w.a, `报销 ${ID}`, [w.b]);
  assert.equal(warned.status, 201, warned.text);
  assert.equal(warned.body.title, `报销 ${ID}`);
  const after = await w.off.ok('GET', '/alerts');
  assert.ok(after.alerts.some((a) => a.user_id === w.a.user.id && a.verdict === 'warn'), 'a warned title alerts the officers');
  const masked = await w.a.ok('PATCH', `/conversations/${ext.id}`, { title: `报销 ${ID}` }, 200);
  assert.ok(!masked.title.includes(ID) && masked.title.includes('*'), masked.title);
});

test('adding an external member: the existing title must pass the external scope', async () => {
  const secret = await w.a.ok('POST', '/conversations', { kind: 'group', title: INTERNAL_TITLE, member_ids: [w.b.user.id] }, 201);
  const r = await w.a.post(`/conversations/${secret.id}/members`, { user_id: w.x.user.id });
  assertError(r, 422, 'title_not_for_external', 'add an external member under a 工作秘密 title');
  const one = await w.a.ok('GET', `/conversations/${secret.id}`);
  assert.equal(one.external, false, 'not added');
  assert.ok(!one.members.some((m) => m.user_id === w.x.user.id));

  const withId = await w.a.ok('POST', '/conversations', { kind: 'group', title: `报销 ${ID}`, member_ids: [w.b.user.id] }, 201);
  await w.a.ok('POST', `/conversations/${withId.id}/members`, { user_id: w.x.user.id }, 204);
  const seen = await w.x.ok('GET', `/conversations/${withId.id}`);
  assert.ok(!seen.title.includes(ID) && seen.title.includes('*'), `masked for the external member: ${seen.title}`);
  // the masked title is what every member reads from then on, and the
  // officers have the alert of the title's verdict, in that conversation
  const inside = await w.b.ok('GET', `/conversations/${withId.id}`);
  assert.equal(inside.title, seen.title);
  const alerts = await w.off.ok('GET', '/alerts');
  assert.ok(alerts.alerts.some((a) => a.conversation_id === withId.id && a.verdict === 'mask'),
    JSON.stringify(alerts.alerts.slice(0, 3)));
});

test('a display name passes the shape check and the external scope', async () => {
  let n = 0;
  const create = (display_name) => w.admin.post('/admin/users', { login: `tf${process.pid}n${++n}`, display_name });
  const ok = await create('名'.repeat(64));
  assert.equal(ok.status, 201, ok.text);
  const long = await create('名'.repeat(65));
  assertError(long, 422, 'display_name_too_long', '65 characters');
  assert.equal(long.body.error.max, 64);
  for (const [what, name] of Object.entries(BAD)) {
    const r = await create(name);
    assertError(r, 422, 'display_name_invalid', `create with ${what}`);
    assert.equal(r.body.error.field, 'display_name');
    assertError(await w.admin.patch(`/admin/users/${w.b.user.id}`, { display_name: name }), 422, 'display_name_invalid', `patch with ${what}`);
  }
  assertError(await w.admin.patch(`/admin/users/${w.b.user.id}`, { display_name: 'n'.repeat(65) }), 422, 'display_name_too_long', 'patch');

  // external accounts read the directory: the external scope
  assertError(await create(INTERNAL_TITLE), 422, 'guard_blocked', '工作秘密 in a display name');
  const p = await w.admin.ok('PATCH', `/admin/users/${w.b.user.id}`, { display_name: `张三${ID}` }, 200);
  assert.ok(!p.display_name.includes(ID) && p.display_name.includes('*'), p.display_name);
  const dir = await w.x.ok('GET', '/users');
  assert.ok(!JSON.stringify(dir).includes(ID), 'the directory does not show the ID number');
});
