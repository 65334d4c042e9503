'use strict';
// Login: one error for unknown user and wrong password, first-login
// password change, TOTP (RFC 6238 computed here), rate limit and lockout
// per account and per address. The address lockout runs last: it locks
// 127.0.0.1 for this server.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world, auditVerify } = require('../lib/fixture.js');
const { Api, Ws, login, makeUser, assertError, totp, assertAudit } = require('../lib/client.js');
const { sleep } = require('../lib/server.js');

const w = world({ a: {} });

test('unknown user and wrong password get the same error', async () => {
  const unknown = await login(w.srv.base, 'nobody-here', 'whatever-password');
  const wrong = await login(w.srv.base, w.a.login, 'not-the-password');
  assertError(unknown, 401, 'invalid_credentials');
  assertError(wrong, 401, 'invalid_credentials');
  assert.deepEqual(unknown.body, wrong.body, 'identical bodies');
  assert.equal(unknown.headers.get('set-cookie'), null, 'no cookie on failure');
  const ok = await login(w.srv.base, w.a.login, w.a.password);
  assert.equal(ok.status, 200, ok.text);
  const cookie = ok.headers.get('set-cookie') || '';
  assert.match(cookie, /cordon_session=/);
  assert.match(cookie, /HttpOnly/i);
  assert.match(cookie, /SameSite=Strict/i);
  // the cookie authenticates too
  const r = await new Api(w.srv.base).get('/me', { headers: { Cookie: cookie.split(';')[0] } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.id, w.a.user.id);
  assert.ok(!('password' in r.body) && !('password_hash' in r.body));
});

test('first login: password change is forced before anything else', async () => {
  const created = await w.admin.ok('POST', '/admin/users', { login: `first${process.pid}`, display_name: 'First' }, 201);
  const r = await login(w.srv.base, created.user.login, created.password);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.must_change_password, true);
  const api = new Api(w.srv.base, r.body.token);
  assertError(await api.get('/conversations'), 403, 'password_change_required');
  assertError(await api.post('/guard/check', { text: 'x' }), 403, 'password_change_required');
  await assert.rejects(Ws.open(api), (e) => e.status === 403);
  const me = await api.get('/me');
  assert.equal(me.status, 200);
  assert.equal(me.body.must_change_password, true);
  assertError(await api.post('/auth/password', { old_password: created.password, new_password: 'short' }), 422, 'invalid', 'weak password');
  assertError(await api.post('/auth/password', { old_password: created.password, new_password: created.password }), 422, 'invalid', 'same password');
  assertError(await api.post('/auth/password', { old_password: 'wrong-old-password', new_password: 'a-much-better-password' }), 401, 'invalid_credentials');
  assert.equal((await api.post('/auth/password', { old_password: created.password, new_password: 'a-much-better-password' })).status, 204);
  assert.equal((await api.get('/conversations')).status, 200, 'unlocked');
  assertError(await login(w.srv.base, created.user.login, created.password), 401, 'invalid_credentials', 'one-time password is spent');
  const again = await login(w.srv.base, created.user.login, 'a-much-better-password');
  assert.equal(again.status, 200);
  assert.equal(again.body.must_change_password, false);

  // an admin reset forces it again and revokes sessions
  const reset = await w.admin.ok('POST', `/admin/users/${created.user.id}/reset-password`, {}, 200);
  assert.ok(reset.password);
  assertError(await api.get('/me'), 401, 'unauthorized', 'reset revokes sessions');
  const r2 = await login(w.srv.base, created.user.login, reset.password);
  assert.equal(r2.body.must_change_password, true);
});

test('TOTP: enrol, confirm, then login needs a valid code', async () => {
  const t = await makeUser(w.admin);
  const en = await t.ok('POST', '/me/totp', {}, 200);
  assert.match(en.secret, /^[A-Z2-7]+=*$/, 'base32 secret');
  assert.match(en.otpauth_uri, /^otpauth:\/\/totp\//);
  assert.ok(en.otpauth_uri.includes(`secret=${en.secret}`));
  // not active until confirmed
  assert.equal((await login(w.srv.base, t.login, t.password)).status, 200);
  const bad = String((Number(totp(en.secret)) + 1) % 1000000).padStart(6, '0');
  assertError(await t.post('/me/totp/confirm', { code: bad }), 422, 'invalid', 'wrong code');
  assert.equal((await t.post('/me/totp/confirm', { code: totp(en.secret) })).status, 204);
  const me = await t.ok('GET', '/me');
  assert.equal(me.totp_enabled, true);

  assertError(await login(w.srv.base, t.login, t.password), 401, 'totp_required');
  assertError(await login(w.srv.base, t.login, t.password, bad), 401, 'totp_invalid');
  assertError(await login(w.srv.base, 'nobody-at-all', 'x', totp(en.secret)), 401, 'invalid_credentials', 'TOTP never hides the generic error');
  let r = await login(w.srv.base, t.login, t.password, totp(en.secret));
  if (r.status === 401 && r.body.error.code === 'totp_invalid') {
    // the code was spent by the confirmation (replay protection): next step
    await sleep(30000 - (Date.now() % 30000) + 500);
    r = await login(w.srv.base, t.login, t.password, totp(en.secret));
  }
  assert.equal(r.status, 200, `login with a valid code: ${r.text}`);
});

test('per-account lockout after repeated failures; other accounts unaffected', async () => {
  const v = await makeUser(w.admin);
  const codes = [];
  for (let i = 0; i < 6; i++) {
    const r = await login(w.srv.base, v.login, 'wrong-password-' + i);
    codes.push(r.status);
  }
  assert.deepEqual(codes.slice(0, 4), [401, 401, 401, 401], 'the first failures are plain 401');
  assert.ok(codes.slice(4).includes(429), `locked after 5 failures: ${codes}`);
  const locked = await login(w.srv.base, v.login, v.password);
  assertError(locked, 429, 'rate_limited', 'even the right password while locked');
  assert.ok(Number(locked.headers.get('retry-after')) > 0, 'Retry-After given');
  // the account's existing session keeps working; another account logs in
  assert.equal((await v.get('/me')).status, 200);
  assert.equal((await login(w.srv.base, w.a.login, w.a.password)).status, 200);
});

test('per-address lockout: unknown logins from one address are throttled', async () => {
  let locked = null;
  for (let i = 0; i < 30 && !locked; i++) {
    const r = await login(w.srv.base, `ghost${i}`, 'nope-nope-nope');
    if (r.status === 429) locked = { i, r };
    else assertError(r, 401, 'invalid_credentials');
  }
  assert.ok(locked, 'the address is locked within 30 failures');
  assert.ok(locked.i <= 21, `locked after ~20 failures (at ${locked.i})`);
  assertError(locked.r, 429, 'rate_limited');
  const r = await login(w.srv.base, w.a.login, w.a.password);
  assertError(r, 429, 'rate_limited', 'a valid account from the locked address');
  assert.equal((await w.a.get('/me')).status, 200, 'existing sessions keep working');
});

test('the audit log records logins, failures, TOTP, password changes', async () => {
  await assertAudit(w.admin, ['auth.login', 'auth.login_failed', 'auth.totp_enabled', 'auth.password_changed', 'user.reset_password', 'user.add']);
});

test('audit chain verifies after the run', async () => {
  const v = await w.admin.ok('GET', '/audit/verify');
  assert.equal(v.ok, true, JSON.stringify(v));
  auditVerify(w.srv);
});
