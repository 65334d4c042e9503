'use strict';
// Issue 13, item 6: small fixes, one test each — cross-site requests and
// sockets, ?token= outside the upgrade, TOTP enrolment twice, read
// watermarks of foreign ids, the owner of a group, disabled accounts,
// WebSocket pings and the rate limit.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const WebSocket = require('ws');
const { Server, sleep } = require('../lib/server.js');
const { world } = require('../lib/fixture.js');
const { Ws, send, conversation, makeUser, assertError, totp, login } = require('../lib/client.js');

const ALLOWED = 'https://chat.example.test';
const w = world({ a: {}, b: {}, c: {}, d: {} }, {
  config: { limits: { requests_per_second: 20, burst: 40 }, allowed_origins: [ALLOWED] },
});

// A browser's view of a session: the cookie the login set, no bearer.
async function cookieOf(u) {
  const r = await login(w.srv.base, u.login, u.password);
  assert.equal(r.status, 200, r.text);
  const m = /cordon_session=([^;]+)/.exec(r.headers.get('set-cookie') || '');
  assert.ok(m, 'login sets the session cookie');
  return `cordon_session=${m[1]}`;
}

// fetch with a cookie and chosen Origin / Content-Type: what a form on
// another site makes the browser send.
async function raw(method, p, { cookie, origin, type, body, bearer } = {}) {
  const headers = {};
  if (cookie) headers.Cookie = cookie;
  if (origin) headers.Origin = origin;
  if (type) headers['Content-Type'] = type;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const res = await fetch(w.srv.base + '/api/v1' + p, { method, headers, body });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = undefined; }
  return { status: res.status, body: json, text, headers: res.headers };
}

function wsWith(headers, origin) {
  const url = w.srv.base.replace(/^http/, 'ws') + '/api/v1/ws';
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers, origin, perMessageDeflate: false });
    ws.once('unexpected-response', (req, res) => { req.destroy(); resolve(res.statusCode); });
    ws.once('open', () => { ws.close(); resolve(101); });
    ws.once('error', () => resolve(-1));
  });
}

test('CSRF: cookie-signed requests from another origin or not JSON are refused (403)', async () => {
  const cookie = await cookieOf(w.c);
  const own = w.srv.base; // http://127.0.0.1:PORT
  const body = JSON.stringify({ kind: 'group', title: 'csrf', member_ids: [w.d.user.id] });
  const count = async () => (await w.c.ok('GET', '/conversations')).conversations.filter((c) => c.title === 'csrf').length;

  // a form on another site: text/plain, foreign Origin
  assertError(await raw('POST', '/conversations', { cookie, origin: 'https://evil.example', type: 'text/plain', body }), 403, 'origin_refused', 'foreign origin');
  // JSON does not help a foreign origin, nor does "null"
  assertError(await raw('POST', '/conversations', { cookie, origin: 'https://evil.example', type: 'application/json', body }), 403, 'origin_refused', 'foreign origin JSON');
  assertError(await raw('POST', '/conversations', { cookie, origin: 'null', type: 'application/json', body }), 403, 'origin_refused', 'null origin');
  // our own origin, but a form's body type
  assertError(await raw('POST', '/conversations', { cookie, origin: own, type: 'text/plain', body }), 403, 'json_required', 'text/plain');
  assertError(await raw('POST', '/conversations', { cookie, type: 'application/x-www-form-urlencoded', body }), 403, 'json_required', 'form, no origin');
  assertError(await raw('DELETE', `/sessions/999999`, { cookie, origin: 'https://evil.example' }), 403, 'origin_refused', 'DELETE');
  // signing the victim in to the attacker's account from another site (login CSRF)
  const creds = JSON.stringify({ login: w.d.login, password: w.d.password });
  const lr = await raw('POST', '/auth/login', { origin: 'https://evil.example', type: 'application/json', body: creds });
  assertError(lr, 403, 'origin_refused', 'login from another site');
  assert.equal(lr.headers.get('set-cookie'), null, 'no cookie set');
  assert.equal(await count(), 0, 'nothing was created');

  // what the web client sends is accepted: own origin (or a configured one), JSON
  assert.equal((await raw('POST', '/conversations', { cookie, origin: own, type: 'application/json; charset=utf-8', body })).status, 201);
  assert.equal((await raw('POST', '/conversations', { cookie, origin: ALLOWED, type: 'application/json', body })).status, 201);
  assert.equal((await raw('POST', '/conversations', { cookie, type: 'application/json', body })).status, 201, 'no Origin, JSON');
  assert.equal((await raw('GET', '/me', { cookie, origin: 'https://evil.example' })).status, 200, 'GET changes nothing');
  // a bearer token is no browser credential: no Origin or type rule
  assert.equal((await raw('POST', '/conversations', { bearer: w.c.token, origin: 'https://evil.example', type: 'text/plain', body })).status, 201);
  assert.equal(await count(), 4);
});

test('CSRF: a WebSocket upgrade with the cookie from another origin is refused (403)', async () => {
  const cookie = await cookieOf(w.c);
  assert.equal(await wsWith({ Cookie: cookie }, 'https://evil.example'), 403, 'foreign origin');
  assert.equal(await wsWith({ Cookie: cookie }, w.srv.base), 101, 'own origin');
  assert.equal(await wsWith({ Cookie: cookie }, ALLOWED), 101, 'configured origin');
  assert.equal(await wsWith({ Authorization: `Bearer ${w.c.token}` }, 'https://evil.example'), 101, 'bearer');
});

test('?token= authenticates the WebSocket upgrade only, no HTTP route', async () => {
  const t = encodeURIComponent(w.c.token);
  const r = await fetch(`${w.srv.base}/api/v1/me?token=${t}`);
  assert.equal(r.status, 401, 'GET /me?token=');
  const r2 = await fetch(`${w.srv.base}/api/v1/conversations?token=${t}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ kind: 'group', title: 'q', member_ids: [] }) });
  assert.equal(r2.status, 401, 'POST ?token=');
  const ws = await Ws.open(w.c, { query: true });
  await ws.close();
});

test('TOTP enrolment when TOTP is already enabled: 409 totp_already_enabled, not 500', async () => {
  const u = await makeUser(w.admin);
  const en = await u.ok('POST', '/me/totp', {}, 200);
  assert.equal((await u.post('/me/totp/confirm', { code: totp(en.secret) })).status, 204);
  assertError(await u.post('/me/totp', {}), 409, 'totp_already_enabled');
  assert.equal((await u.ok('GET', '/me')).totp_enabled, true, 'TOTP stays enabled');
});

test('read: only a message of the conversation sets the watermark', async () => {
  const conv = await conversation(w.a, [w.b]);
  const other = await conversation(w.a, [w.c]);
  const m1 = (await send(w.a, conv.id, 'first')).body.message;
  const foreign = (await send(w.a, other.id, 'elsewhere')).body.message;
  assertError(await w.b.post(`/conversations/${conv.id}/read`, { message_id: 2 ** 53 }), 404, 'not_found', 'huge id');
  assertError(await w.b.post(`/conversations/${conv.id}/read`, { message_id: foreign.id + 1000 }), 404, 'not_found', 'no such message');
  assertError(await w.b.post(`/conversations/${conv.id}/read`, { message_id: foreign.id }), 404, 'not_found', 'a message of another conversation');
  assertError(await w.b.post(`/conversations/${conv.id}/read`, { message_id: 0 }), 422, 'invalid', 'id 0');
  assertError(await w.b.post(`/conversations/${conv.id}/read`, { message_id: -5 }), 422, 'invalid', 'negative id');
  // the bogus watermarks were not stored: a later message is still unread
  const m2 = (await send(w.a, conv.id, 'second')).body.message;
  let list = (await w.b.ok('GET', '/conversations')).conversations;
  assert.equal(list.find((c) => c.id === conv.id).unread, 2, 'both messages unread');
  await w.b.ok('POST', `/conversations/${conv.id}/read`, { message_id: m1.id }, 204);
  list = (await w.b.ok('GET', '/conversations')).conversations;
  assert.equal(list.find((c) => c.id === conv.id).unread, 1, 'a real id still works');
  assert.ok(m2.id > m1.id);

  // the same over the WebSocket
  const ws = await Ws.open(w.b);
  try {
    ws.send({ type: 'read', req: 7, conversation_id: conv.id, message_id: 2 ** 53 });
    const e = await ws.waitType('error', (x) => x.req === 7);
    assert.equal(e.error.code, 'not_found');
  } finally {
    await ws.close();
  }
  list = (await w.b.ok('GET', '/conversations')).conversations;
  assert.equal(list.find((c) => c.id === conv.id).unread, 1, 'the frame changed nothing');
});

test('group owner: a group admin cannot remove the owner (nor take the group over)', async () => {
  const g = await conversation(w.a, [w.b, w.c], { title: 'owned' });
  await w.a.ok('PATCH', `/conversations/${g.id}/members/${w.b.user.id}`, { role: 'admin' }, 204);
  assertError(await w.b.del(`/conversations/${g.id}/members/${w.a.user.id}`), 403, 'forbidden', 'admin removes owner');
  const after = await w.a.ok('GET', `/conversations/${g.id}`);
  const role = (id) => after.members.find((m) => m.user_id === id)?.role;
  assert.equal(role(w.a.user.id), 'owner', 'the owner stays');
  assert.equal(role(w.b.user.id), 'admin', 'the admin did not become owner');
  assertError(await w.b.patch(`/conversations/${g.id}/members/${w.a.user.id}`, { role: 'member' }), 403, 'forbidden', 'admin demotes owner');
  // a group admin still removes ordinary members; the owner removes admins
  await w.b.ok('DELETE', `/conversations/${g.id}/members/${w.c.user.id}`, undefined, 204);
  await w.a.ok('DELETE', `/conversations/${g.id}/members/${w.b.user.id}`, undefined, 204);
  // an organisation admin who administers the group may remove its owner
  const g2 = await conversation(w.a, [w.admin, w.c], { title: 'org admin' });
  await w.a.ok('PATCH', `/conversations/${g2.id}/members/${w.admin.user.id}`, { role: 'admin' }, 204);
  await w.admin.ok('DELETE', `/conversations/${g2.id}/members/${w.a.user.id}`, undefined, 204);
  const g2after = await w.admin.ok('GET', `/conversations/${g2.id}`);
  assert.ok(!g2after.members.some((m) => m.user_id === w.a.user.id));
});

test('disabled accounts cannot be added to groups or direct chats: 422 user_disabled', async () => {
  const gone = await makeUser(w.admin);
  await w.admin.ok('PATCH', `/admin/users/${gone.user.id}`, { disabled: true }, 200);
  assertError(await w.a.post('/conversations', { kind: 'direct', member_ids: [gone.user.id] }), 422, 'user_disabled', 'direct');
  assertError(await w.a.post('/conversations', { kind: 'group', title: 'g', member_ids: [w.b.user.id, gone.user.id] }), 422, 'user_disabled', 'group create');
  const g = await conversation(w.a, [w.b], { title: 'no ghosts' });
  assertError(await w.a.post(`/conversations/${g.id}/members`, { user_id: gone.user.id }), 422, 'user_disabled', 'member add');
  const after = await w.a.ok('GET', `/conversations/${g.id}`);
  assert.equal(after.members.length, 2, 'nobody was added');
  // enabled again: allowed
  await w.admin.ok('PATCH', `/admin/users/${gone.user.id}`, { disabled: false }, 200);
  await w.a.ok('POST', `/conversations/${g.id}/members`, { user_id: gone.user.id }, 204);
});

test('WebSocket ping frames count against the rate limit', async () => {
  const ws = await Ws.open(w.d);
  try {
    for (let i = 0; i < 200; i++) ws.send({ type: 'ping', req: i });
    const e = await ws.waitType('error', (x) => x.error && x.error.code === 'rate_limited');
    assert.ok(typeof e.req === 'number', 'the refused ping is named');
    const pongs = ws.find((x) => x.type === 'pong').length;
    assert.ok(pongs < 200, `not every ping answered (${pongs})`);
    assert.ok(pongs >= 30, `the burst is answered (${pongs})`);
  } finally {
    await ws.close();
  }
});

test('the data directory is private (0700, files 0600) whatever it was; the admin password goes to stdout alone', async () => {
  const srv = new Server({});
  const dir = srv.storeDir;
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'left here by hand', { mode: 0o644 });
  fs.chmodSync(path.join(dir, 'notes.txt'), 0o644);
  const mode = (f) => fs.statSync(f).mode & 0o777;
  const check = (what) => {
    assert.equal(mode(dir).toString(8), '700', `${what}: data dir`);
    const files = fs.readdirSync(dir);
    // the database is a file here on SQLite (PostgreSQL's are the cluster's)
    if (!srv.storeUrl) assert.ok(files.includes('cordon.db'), `${what}: ${files}`);
    for (const f of files) {
      const p = path.join(dir, f);
      const want = fs.statSync(p).isDirectory() ? '700' : '600';
      assert.equal(mode(p).toString(8), want, `${what}: ${f}`);
    }
  };
  try {
    await srv._spawn();
    const line = /cordon: bootstrap admin login=admin password=\S+/;
    assert.ok(srv.streamLines.stdout.some((l) => line.test(l)), 'the password is on stdout');
    assert.ok(!srv.streamLines.stderr.some((l) => l.includes(srv.adminPassword)), 'and nowhere in the log (stderr)');
    assert.ok(srv.streamLines.stdout.every((l) => !/^\d{4}-\d\d-\d\dT\S+Z (debug|info|warn|error) /.test(l)), 'stdout carries no log lines');
    check('first start');
    await srv.stop();
    // someone loosened it while the server was down
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(path.join(dir, srv.storeUrl ? 'notes.txt' : 'cordon.db'), 0o644);
    await srv.restart();
    check('restart');
  } finally {
    await srv.dispose();
  }
});

test('recall: alerts keep the findings, not the text around them nor the justification; nothing left on disk', async () => {
  const conv = await conversation(w.a, [w.b]);
  const tag = `Zq${Date.now().toString(36)}X`;
  const around = `${tag}-around`, why = `${tag}-why`, body = `${tag}-body`;
  // confirm: held, then sent with a justification -> an override alert
  const text = `${around}\n核心商密\n新产品定价策略（草案）\n${body}`;
  const held = await send(w.a, conv.id, text);
  assert.equal(held.status, 409, held.text);
  const r = await send(w.a, conv.id, text, { justification: why });
  assert.equal(r.status, 201, r.text);
  const m = r.body.message;
  // and a warn: delivered with an alert quoting the text around the phone number
  const warn = await send(w.a, conv.id, `我的手机号是13800138000，${around}`);
  assert.equal(warn.status, 201, warn.text);
  assert.equal(warn.body.guard.verdict, 'warn');

  const alertOf = async (mid) => (await w.admin.ok('GET', '/alerts?limit=200')).alerts.find((a) => a.message_id === mid);
  let al = await alertOf(m.id);
  assert.ok(al, 'an alert for the override');
  assert.equal(al.justification, why);
  assert.ok(JSON.stringify(al.findings).includes(around), 'before the recall, the context is there');
  let wal = await alertOf(warn.body.message.id);
  assert.ok(JSON.stringify(wal.findings).includes(around));

  await w.a.ok('POST', `/messages/${m.id}/recall`, {}, 204);
  await w.a.ok('POST', `/messages/${warn.body.message.id}/recall`, {}, 204);

  for (const [mid, kind] of [[m.id, 'override'], [warn.body.message.id, 'guard']]) {
    al = await alertOf(mid);
    assert.ok(al, `the alert of ${mid} stays`);
    assert.equal(al.kind, kind, 'still reads as what it was');
    assert.ok(!al.justification, 'no justification after the recall');
    assert.ok(al.findings.length > 0, 'the findings stay');
    for (const f of al.findings) {
      assert.ok(!('context_before' in f) && !('context_after' in f), `no context: ${JSON.stringify(f)}`);
      assert.ok(f.rule && f.excerpt && f.action, 'rule, excerpt and action stay');
    }
    assert.ok(!JSON.stringify(al).includes(tag), 'nothing of the text');
  }
  const audit = await w.admin.ok('GET', '/audit?limit=200');
  assert.ok(!JSON.stringify(audit).includes(tag), 'nor in the audit log');

  // on disk: the database and its write-ahead log, after a checkpoint
  // (PostgreSQL: no row of any table)
  await sleep(1500);
  if (!w.srv.storeUrl) assert.ok(fs.readdirSync(w.srv.storeDir).includes('cordon.db'), 'the check reads the database');
  const stays = `Kp${Date.now().toString(36)}-stays`;
  assert.equal((await send(w.a, conv.id, stays)).status, 201);
  assert.ok(w.srv.storedIn(stays).length > 0, 'the check sees what is stored');
  for (const s of [around, why, body])
    assert.deepEqual(w.srv.storedIn(s), [], `${s} still stored`);
});

test('guard pre-check: repeated blocked pre-checks raise one guard.probing alert per window', async () => {
  const u = await makeUser(w.admin);
  const wsO = await Ws.open(w.admin);
  const probing = async () => (await w.admin.ok('GET', '/alerts?category=guard.probing&limit=200')).alerts.filter((a) => a.user_id === u.user.id);
  try {
    // ordinary pre-checks and a few blocked ones: no alert
    for (let i = 0; i < 3; i++) assert.equal((await u.ok('POST', '/guard/check', { text: `lunch at ${i}?` })).verdict, 'allow');
    for (let i = 0; i < 4; i++) assert.equal((await u.ok('POST', '/guard/check', { text: `机密★${i + 1}年 关于某项目的请示` })).verdict, 'block');
    assert.equal((await probing()).length, 0, 'four blocked pre-checks are a user checking drafts');
    // the fifth within ten minutes: one alert, not one per probe
    for (let i = 4; i < 9; i++) assert.equal((await u.ok('POST', '/guard/check', { text: `机密★${i + 1}年 关于某项目的请示` })).verdict, 'block');
    const ev = await wsO.waitType('alert.new', (e) => e.alert.category === 'guard.probing' && e.alert.user_id === u.user.id);
    assert.equal(ev.alert.verdict, 'block');
    assert.ok(ev.alert.findings.length > 0, 'the last attempt\'s findings');
    assert.ok(!JSON.stringify(ev.alert.findings).includes('关于某项目'), 'no text around them');
    const list = await probing();
    assert.equal(list.length, 1, 'once per window');
    const audit = await w.admin.ok('GET', '/audit?limit=200');
    assert.ok(audit.entries.some((e) => e.event === 'guard.probing' && e.actor_id === u.user.id), 'audited');
  } finally {
    await wsO.close();
  }
});

test('guard pre-check: its own rate limit (429 rate_limited), other requests unaffected', async () => {
  const u = await makeUser(w.admin);
  // 36: under the session's burst (40 here), over the pre-check burst (30 by default)
  const rs = await Promise.all(Array.from({ length: 36 }, (_, i) => u.post('/guard/check', { text: `draft ${i}` })));
  const limited = rs.filter((r) => r.status === 429);
  assert.ok(limited.length > 0, `36 pre-checks at once: some limited (${rs.map((r) => r.status)})`);
  assertError(limited[0], 429, 'rate_limited');
  assert.ok(Number(limited[0].headers.get('retry-after')) >= 1, 'Retry-After');
  assert.ok(rs.filter((r) => r.status === 200).length >= 25, 'the burst goes through');
  assert.equal((await u.get('/me')).status, 200, 'the session bucket is another');
});
