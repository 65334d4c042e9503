'use strict';
// Durability: under a steady send load, `kill -9` the server and restart it
// on the same data dir. Every message the server acknowledged is in
// history, none twice; resending the unacknowledged ones with their
// client_id never duplicates. Two crash cycles; the audit chain still
// verifies. Then the same with the `cordon` command working on the live
// database during the load (user list, user add, audit verify), as the docs
// say it may: another process on the database must never cost the server
// its locks, its write-ahead log or an acknowledged message.
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

test('the CLI on the live database during load: kill -9 loses nothing, the CLI\'s own writes stay', async () => {
  srv = await Server.start({ config: { limits: { requests_per_second: 100000, burst: 100000 } } });
  const admin = await bootstrapAdmin(srv);
  const a = await makeUser(admin);
  const b = await makeUser(admin);
  const conv = await conversation(a, [b]);
  const load = new Steady([
    { api: a, kind: 'http' }, { api: b, kind: 'http' }, { api: a, kind: 'ws' }, { api: b, kind: 'ws' },
  ], conv.id, 'cli');
  load.start();
  const t0 = Date.now();
  while (load.acked.size < 50 && Date.now() - t0 < 8000 * SLOW) await sleep(10);
  assert.ok(load.acked.size > 0, 'the load got going');

  // Each command opens and closes the database while the server writes to
  // it; a process that believes itself the last connection checkpoints and
  // unlinks the -wal the server still appends to.
  const data = ['--data', srv.storeDir];
  const added = [];
  for (let i = 0; i < 4; i++) {
    const list = await srv.cliAsync(['user', 'list', ...data]);
    assert.equal(list.status, 0, `user list: ${list.stderr}`);
    assert.match(list.stdout, new RegExp(`\\b${a.login}\\b`), 'user list sees the live accounts');
    const name = `cliuser${i}`;
    const add = await srv.cliAsync(['user', 'add', name, '--role', 'member', ...data]);
    assert.equal(add.status, 0, `user add: ${add.stdout} ${add.stderr}`);
    added.push(name);
    const v = await srv.cliAsync(['audit', 'verify', ...data]);
    assert.equal(v.status, 0, `audit verify during load: ${v.stdout} ${v.stderr}`);
    // the server goes on answering, logins included (a lost lock once made
    // them fail with "database disk image is malformed")
    const r = await login(srv.base, a.login, a.password);
    assert.equal(r.status, 200, `login during CLI use: ${r.text}`);
    await sleep(100);
  }
  // more traffic after the last command, then the crash
  const n0 = load.acked.size;
  while (load.acked.size < n0 + 200 && Date.now() - t0 < 20000 * SLOW) await sleep(10);
  const exit = await srv.kill9();
  assert.equal(exit.signal, 'SIGKILL');
  load.running = false;
  await load.done;
  assert.deepEqual(load.errors, [], 'no send errors before the crash');

  await srv.restart();
  const r = await login(srv.base, b.login, b.password);
  assert.equal(r.status, 200, `login after restart: ${r.text}`);
  const b2 = new Api(srv.base, r.body.token);
  const msgs = await allMessages(b2, conv.id);
  checkHistory(msgs, load.acked, 'after CLI use and kill -9');
  process.stderr.write(`# CLI during load: ${load.acked.size} acknowledged, all present\n`);

  const list = srv.cli(['user', 'list', ...data]);
  for (const l of added) assert.match(list.stdout + list.stderr, new RegExp(`\\b${l}\\b`), `${l}, added by the CLI, survived`);
  const admin2 = await relogin({ login: 'admin', password: srv.adminPassword, user: admin.user });
  const audit = await admin2.ok('GET', '/audit?limit=1000');
  const cliAdds = audit.entries.filter((e) => e.event === 'user.add' && e.actor === 'cli');
  assert.equal(cliAdds.length, added.length, `the CLI's audit entries survived: ${JSON.stringify(audit).slice(0, 400)}`);
  const v = await admin2.ok('GET', '/audit/verify');
  assert.equal(v.ok, true, `audit chain: ${JSON.stringify(v)}`);
  await srv.stop();
  const vc = srv.cli(['audit', 'verify', ...data]);
  assert.equal(vc.status, 0, `cordon audit verify: ${vc.stdout} ${vc.stderr}`);
});
