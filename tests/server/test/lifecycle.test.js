'use strict';
// Graceful shutdown on SIGTERM under a send load: exit 0, every
// acknowledged message persisted, no message bodies in the log at the
// default level; restart on the same data; `cordon audit verify`.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { world, auditVerify } = require('../lib/fixture.js');
const { conversation, login, Api } = require('../lib/client.js');
const { Steady, allMessages } = require('../lib/steady.js');
const { sleep, SLOW } = require('../lib/server.js');

// The load is as fast as the server answers; the per-session rate limit is
// tested in limits.test.js and must not turn this test's sends into 429s.
const w = world({ a: {}, b: {} }, { config: { limits: { requests_per_second: 100000, burst: 100000 } } });

test('SIGTERM under load: exit 0, every acknowledged message persisted', async () => {
  const conv = await conversation(w.a, [w.b]);
  const load = new Steady([{ api: w.a, kind: 'http' }, { api: w.b, kind: 'http' }, { api: w.a, kind: 'ws' }], conv.id, 'term');
  load.start();
  for (let i = 0; i < 100 && load.acked.size < 100; i++) await sleep(50 * SLOW);
  assert.ok(load.acked.size > 0, 'the load got going');
  const exit = await w.srv.stop('SIGTERM');
  load.running = false;
  await load.done;
  assert.equal(exit.timedOut, undefined, 'exited in time');
  assert.equal(exit.signal, null, `exited by itself: ${JSON.stringify(exit)}\n${w.srv.log(40)}`);
  assert.equal(exit.code, 0, `exit code 0\n${w.srv.log(20)}`);
  assert.deepEqual(load.errors, [], 'no errors while running');

  const log = fs.readFileSync(path.join(w.srv.dataDir, 'server.log'), 'utf8');
  assert.ok(!log.includes('steady-body'), 'message bodies never appear in the log at the default level');
  assert.ok(!log.includes('周报进度正常'));

  auditVerify(w.srv); // offline, on the stopped server's data

  await w.srv.restart();
  assert.ok(!/bootstrap admin/.test(w.srv.log(50).split('---- restart ----').pop()), 'no second bootstrap admin');
  const r = await login(w.srv.base, w.a.login, w.a.password);
  assert.equal(r.status, 200, r.text);
  const a = new Api(w.srv.base, r.body.token);
  const msgs = await allMessages(a, conv.id);
  const byCid = new Map();
  for (const m of msgs) {
    assert.ok(!byCid.has(m.client_id), `client_id ${m.client_id} stored twice`);
    byCid.set(m.client_id, m);
  }
  for (const [cid, ack] of load.acked) {
    const m = byCid.get(cid);
    assert.ok(m, `acknowledged ${cid} persisted (acked ${load.acked.size}, stored ${msgs.length})`);
    assert.equal(m.id, ack.id);
    assert.equal(m.text, ack.text);
  }
});

test('audit chain verifies after the run', async () => {
  if (!w.srv.running) await w.srv.restart();
  const r = await login(w.srv.base, 'admin', w.srv.adminPassword);
  assert.equal(r.status, 200, r.text);
  const v = await new Api(w.srv.base, r.body.token).ok('GET', '/audit/verify');
  assert.equal(v.ok, true, JSON.stringify(v));
  const exit = await w.srv.stop('SIGTERM');
  assert.equal(exit.code, 0, 'idle shutdown exits 0 too');
  auditVerify(w.srv);
});
