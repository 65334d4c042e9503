'use strict';
// Durability: under a steady send load, `kill -9` the server and restart it
// on the same data dir. Every message the server acknowledged is in
// history, none twice; resending the unacknowledged ones with their
// client_id never duplicates. Two crash cycles; the audit chain still
// verifies.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { Server, sleep, SLOW } = require('../lib/server.js');
const { bootstrapAdmin, makeUser, conversation, login, Api } = require('../lib/client.js');
const { Steady, allMessages } = require('../lib/steady.js');

let srv;
after(async () => { if (srv) await srv.dispose(); });

async function relogin(u) {
  const r = await login(srv.base, u.login, u.password);
  assert.equal(r.status, 200, `login after restart: ${r.text}`);
  const api = new Api(srv.base, r.body.token);
  Object.assign(api, { login: u.login, password: u.password, user: u.user });
  return api;
}

function checkHistory(msgs, acked, what) {
  const byCid = new Map();
  const ids = new Set();
  for (const m of msgs) {
    assert.ok(!byCid.has(m.client_id), `${what}: client_id ${m.client_id} stored twice`);
    assert.ok(!ids.has(m.id), `${what}: id ${m.id} twice`);
    byCid.set(m.client_id, m);
    ids.add(m.id);
  }
  let missing = [];
  for (const [cid, a] of acked) {
    const m = byCid.get(cid);
    if (!m) { missing.push(cid); continue; }
    assert.equal(m.id, a.id, `${what}: ${cid} keeps its id`);
    assert.equal(m.text, a.text, `${what}: ${cid} keeps its text`);
  }
  assert.deepEqual(missing, [], `${what}: acknowledged but lost (${missing.length} of ${acked.size})`);
  return byCid;
}

test('kill -9 under load loses no acknowledged message and duplicates none', async () => {
  // as fast as the server answers: the rate limit has its own test
  srv = await Server.start({ config: { limits: { requests_per_second: 100000, burst: 100000 } } });
  const admin = await bootstrapAdmin(srv);
  let a = await makeUser(admin);
  let b = await makeUser(admin);
  const conv = await conversation(a, [b]);
  const acked = new Map();
  const attempted = new Map();

  for (let cycle = 1; cycle <= 2; cycle++) {
    const load = new Steady([
      { api: a, kind: 'http' }, { api: a, kind: 'http' }, { api: b, kind: 'http' },
      { api: a, kind: 'ws' }, { api: b, kind: 'ws' },
    ], conv.id, `k${cycle}`);
    load.start();
    const t0 = Date.now();
    while (load.acked.size < 300 && Date.now() - t0 < 8000 * SLOW) await sleep(20);
    assert.ok(load.acked.size > 0, 'the load got going');
    const exit = await srv.kill9();
    assert.equal(exit.signal, 'SIGKILL');
    load.running = false;
    await load.done;
    assert.deepEqual(load.errors, [], 'no send errors before the crash');
    for (const [k, v] of load.acked) acked.set(k, v);
    for (const [k, v] of load.attempted) attempted.set(k, v);

    await srv.restart();
    a = await relogin(a);
    b = await relogin(b);
    let msgs = await allMessages(b, conv.id);
    const byCid = checkHistory(msgs, acked, `after crash ${cycle}`);
    const lostInFlight = [...attempted.keys()].filter((k) => !acked.has(k));
    process.stderr.write(`# cycle ${cycle}: ${load.acked.size} acknowledged, ${lostInFlight.length} in flight at the kill, ` +
      `${lostInFlight.filter((k) => byCid.has(k)).length} of those committed anyway\n`);

    // the client retries what it never got an answer for: never twice
    for (const cid of lostInFlight) {
      const { text, api } = attempted.get(cid);
      const who = api.user.id === a.user.id ? a : b;
      const r = await who.post(`/conversations/${conv.id}/messages`, { client_id: cid, text });
      assert.ok(r.status === 200 || r.status === 201, `retry ${cid}: ${r.status} ${r.text}`);
      if (byCid.has(cid)) {
        assert.equal(r.status, 200, `${cid} was committed: the retry answers 200 with it`);
        assert.equal(r.body.message.id, byCid.get(cid).id);
      }
      acked.set(cid, { id: r.body.message.id, text, api: who });
    }
    msgs = await allMessages(b, conv.id);
    checkHistory(msgs, acked, `after retries ${cycle}`);
    assert.equal(msgs.length, acked.size, 'exactly the acknowledged messages');
  }

  const v = await (await relogin({ login: 'admin', password: srv.adminPassword, user: admin.user })).ok('GET', '/audit/verify');
  assert.equal(v.ok, true, `audit chain after crashes: ${JSON.stringify(v)}`);
  const exit = await srv.stop();
  assert.equal(exit.code, 0, `SIGTERM after the crashes: ${JSON.stringify(exit)}\n${srv.log(40)}`);
  const r = srv.cli(['audit', 'verify', '--data', srv.storeDir]);
  assert.equal(r.status, 0, `cordon audit verify: ${r.stdout} ${r.stderr}`);
});
