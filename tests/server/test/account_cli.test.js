'use strict';
// Account changes made by another process reach open WebSockets within a
// second: `cordon user disable|role|reset-password` run beside the server
// (and a raw sqlite3-style edit) close or re-authorise the sockets they
// concern; a disabled account's socket can no longer send; a demoted
// officer's reconnected socket no longer receives alert.new.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world } = require('../lib/fixture.js');
const { Ws, send, conversation, newSession, login } = require('../lib/client.js');
const { sleep, SLOW } = require('../lib/server.js');

const w = world({ a: {}, b: {}, c: {}, d: {}, off: { role: 'officer' } });
const BLOCK_TEXT = '机密★1年 关于某项目的请示';
const SECOND = 1000 * SLOW; // the promise is a second; sanitizer builds run slower

function cli(...args) {
  return w.srv.cliAsync(['user', ...args, '--data', w.srv.storeDir]);
}

async function closedWithin(ws, ms, what) {
  const t0 = Date.now();
  const r = await Promise.race([ws.closed, sleep(ms * 3).then(() => null)]);
  assert.ok(r, `${what}: socket still open ${ms * 3} ms after the change`);
  const dt = Date.now() - t0;
  return { ...r, dt };
}

test('cordon user disable closes the open socket within a second; it sends nothing more', async () => {
  const conv = await conversation(w.a, [w.b]);
  const wsA = await Ws.open(w.a);
  const wsB = await Ws.open(w.b);
  const r = await cli('disable', w.b.login);
  assert.equal(r.status, 0, r.stderr);
  const t0 = Date.now();
  const c = await closedWithin(wsB, SECOND, 'disabled account');
  assert.ok(Date.now() - t0 <= SECOND, `closed after ${Date.now() - t0} ms`);
  assert.equal(c.code, 4001);
  assert.ok(wsB.find((e) => e.type === 'session.revoked').length === 1, 'told why');
  // the socket is gone; HTTP with the old token is refused too
  const s = await send(w.b, conv.id, 'after disable');
  assert.equal(s.status, 401, s.text);
  await sleep(300);
  assert.equal(wsA.find((e) => e.type === 'message.new').length, 0, 'nothing from the disabled account was delivered');
  // and a new socket is refused
  await assert.rejects(Ws.open(w.b), (e) => e.status === 401);
  assert.equal((await login(w.srv.base, w.b.login, w.b.password)).status, 401);
  await wsA.close();
});

test('cordon user role: a demoted officer\'s sockets reconnect without alerts, within a second', async () => {
  const conv = await conversation(w.c, [w.d]);
  const wsO = await Ws.open(w.off);
  // an officer receives alerts before the change
  assert.equal((await send(w.c, conv.id, BLOCK_TEXT)).status, 403);
  await wsO.waitType('alert.new', (e) => e.alert.conversation_id === conv.id);

  const r = await cli('role', w.off.login, 'member');
  assert.equal(r.status, 0, r.stderr);
  const t0 = Date.now();
  const c = await closedWithin(wsO, SECOND, 'demoted officer');
  assert.ok(Date.now() - t0 <= SECOND, `closed after ${Date.now() - t0} ms`);
  assert.equal(c.code, 4002, 'account changed: reconnect, the session stays');
  assert.equal(wsO.find((e) => e.type === 'account.changed').length, 1);
  assert.equal(wsO.find((e) => e.type === 'session.revoked').length, 0);

  // the same session reconnects, now as a member: no alert reaches it
  const ws2 = await Ws.open(w.off);
  assert.equal(ws2.events.find((e) => e.type === 'hello').user.role, 'member');
  assert.equal((await send(w.c, conv.id, BLOCK_TEXT)).status, 403);
  await sleep(700);
  assert.equal(ws2.find((e) => e.type === 'alert.new').length, 0, 'a member receives no alert');
  assert.equal((await w.off.get('/alerts')).status, 403);

  // promoted again: reconnects as an officer and receives alerts
  assert.equal((await cli('role', w.off.login, 'officer')).status, 0);
  assert.equal((await closedWithin(ws2, SECOND, 'promoted')).code, 4002);
  const ws3 = await Ws.open(w.off);
  assert.equal(ws3.events.find((e) => e.type === 'hello').user.role, 'officer');
  assert.equal((await send(w.c, conv.id, BLOCK_TEXT)).status, 403);
  await ws3.waitType('alert.new', (e) => e.alert.conversation_id === conv.id);
  await ws3.close();
});

test('cordon user reset-password ends every session\'s sockets within a second', async () => {
  const s2 = await newSession(w.d);
  const ws1 = await Ws.open(w.d);
  const ws2 = await Ws.open(s2);
  const r = await cli('reset-password', w.d.login);
  assert.equal(r.status, 0, r.stderr);
  const [c1, c2] = await Promise.all([closedWithin(ws1, SECOND, 'session 1'), closedWithin(ws2, SECOND, 'session 2')]);
  assert.equal(c1.code, 4001);
  assert.equal(c2.code, 4001);
  assert.equal((await w.d.get('/me')).status, 401);
});

test('a session revoked by another process (a direct edit of the database) closes its socket', async () => {
  const s2 = await newSession(w.a);
  const ws1 = await Ws.open(w.a);
  const ws2 = await Ws.open(s2);
  // `sqlite3 cordon.db` (or `psql` on a PostgreSQL store) deleting the row
  w.srv.sql(`DELETE FROM sessions WHERE id = ${Number(s2.sessionId)}`);
  assert.equal((await closedWithin(ws2, SECOND, 'revoked session')).code, 4001);
  await sleep(300);
  assert.equal(ws1.closeInfo, null, 'the other session stays open');
  await ws1.close();
});
