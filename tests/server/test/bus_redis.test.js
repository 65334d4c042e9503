'use strict';
// The Redis bus (issue 19, `bus: redis://…`; docs/SCALING.md) on the SQLite
// store: one node whose events go through a real redis-server
// (scripts/redis-test-server.sh), and what two nodes share without a
// shared store — login lockouts and the policy (a shared policy file, the
// reload broadcast). Members on two nodes, histories across nodes and the
// leader across nodes need a shared store: cluster.test.js (PostgreSQL).
//
//   - /ready reports the bus, /metrics counts it (promtool-valid);
//   - Redis shut down: the node still serves its own sockets and says it
//     is not ready; Redis back: the node fills the gap from the store (it
//     missed nothing of its own), its sockets stay connected, get nothing
//     twice, and history holds every message (a gap beyond the fill's
//     bound, and the resync: cluster.test.js);
//   - the node holds the timers' lease: a reminder fires, once;
//   - a policy saved on node A is in force on node B;
//   - failed sign-ins on node A lock the name on node B.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { world } = require('../lib/fixture.js');
const { Ws, conversation, history, send, login, assertError, bootstrapAdmin } = require('../lib/client.js');
const { Server, sleep, ROOT, SLOW } = require('../lib/server.js');
const { Redis } = require('../lib/redis.js');

const redis = Redis.start();
after(() => redis.stop());

// A policy file both nodes use (in a cluster: on the shared mount).
const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-shared-'));
const POLICY = path.join(shared, 'policy.yaml');
const DEFAULT = fs.readFileSync(path.join(ROOT, 'data', 'policy', 'default.yaml'), 'utf8');
fs.writeFileSync(POLICY, DEFAULT);
after(() => fs.rmSync(shared, { recursive: true, force: true }));
const BLOCKING = DEFAULT.replace(/^name: default$/m, 'name: saved-on-a')
  .replace(/(id: commercial-marking[\s\S]*?action: )confirm/, '$1block');
const COMMERCIAL = '核心商密\n新产品定价策略（草案）';

const config = {
  bus: redis.url,
  node_name: 'node-a',
  metrics_listen: '127.0.0.1:0',
  login: { max_failures_per_account: 3 },
};
const w = world({ a: {}, b: {} }, { config, policy: POLICY });

async function ready(srv) {
  const r = await fetch(srv.base + '/api/v1/ready');
  return { status: r.status, body: await r.json() };
}

async function until(fn, ms, what) {
  const end = Date.now() + ms * SLOW;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await sleep(100);
  }
}

function metricsBase(srv) {
  const line = srv.logLines.find((l) => /cordon: metrics on /.test(l));
  assert.ok(line, 'the server says where its metrics are');
  return /(http:\/\/[^/\s]+)\/metrics/.exec(line)[1];
}

function value(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : NaN;
}

test('ready reports the bus; metrics count it and stay valid for promtool', async () => {
  const r = await until(async () => { const x = await ready(w.srv); return x.status === 200 && x; }, 5000, 'ready');
  assert.deepEqual(r.body, { ready: true, store: 'ok', policy: 'ok', bus: 'ok' });
  const conv = await conversation(w.a, [w.b]);
  const sock = await Ws.open(w.b);
  try {
    const sent = await send(w.a, conv.id, 'through redis');
    assert.equal(sent.status, 201, sent.text);
    const ev = await sock.waitType('message.new', (e) => e.message.text === 'through redis');
    assert.equal(ev.message.conversation_id, conv.id);
  } finally {
    await sock.close();
  }
  const text = await until(async () => {
    const t = await (await fetch(metricsBase(w.srv) + '/metrics')).text();
    return value(t, 'cordon_bus_leader') === 1 && t;
  }, 5000, 'the only node takes the lease');
  assert.ok(value(text, 'cordon_bus_published_total') >= 1, 'the message was published on the bus');
  assert.equal(value(text, 'cordon_bus_connected'), 1);
  assert.equal(value(text, 'cordon_bus_gaps_total'), 0);
  for (const m of ['cordon_bus_received_total', 'cordon_bus_dropped_total', 'cordon_bus_lag_seconds', 'cordon_bus_lag_max_seconds', 'cordon_bus_reconnects_total']) {
    assert.ok(!Number.isNaN(value(text, m)), `${m} exposed`);
  }
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(check.error, undefined, `promtool: ${check.error}`);
  assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}`);
});

test('Redis away: own sockets still served, not ready; back: the gap is filled, sockets stay, nothing is lost', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'redis restart' });
  redis.shutdown();
  const down = await until(async () => { const x = await ready(w.srv); return x.status === 503 && x; }, 5000, '/ready 503');
  assert.equal(down.body.bus, 'unavailable');
  assert.equal(down.body.store, 'ok');
  // opened once Redis is gone: a socket open during the shutdown itself may
  // already have been told to resync (the subscriber can reconnect for a
  // moment to a Redis that is still going down)
  const sock = await Ws.open(w.b);
  try {
    // sending works, and this node's sockets hear of it without Redis
    for (let i = 0; i < 3; i++) {
      const r = await send(w.a, conv.id, `while redis is down ${i}`);
      assert.equal(r.status, 201, r.text);
      await sock.waitType('message.new', (e) => e.message.text === `while redis is down ${i}`);
    }
    redis.restart();
    // other nodes' events of the meantime would be read from the store;
    // this node's own reached its sockets already: nothing twice, no resync
    await until(async () => (await ready(w.srv)).status === 200, 10000, '/ready 200 again');
    await until(async () => value(await (await fetch(metricsBase(w.srv) + '/metrics')).text(),
      'cordon_bus_gaps_total') >= 1, 10000, 'the gap noticed');
    await send(w.a, conv.id, 'after the gap');
    await sock.waitType('message.new', (e) => e.message.text === 'after the gap');
    assert.equal(sock.find((e) => e.type === 'resync').length, 0, 'no resync');
    assert.equal(sock.closeInfo, null, 'the socket stayed connected');
    assert.deepEqual(sock.find((e) => e.type === 'message.new').map((e) => e.message.text),
      ['while redis is down 0', 'while redis is down 1', 'while redis is down 2', 'after the gap'], 'each once');
  } finally {
    await sock.close();
  }
  const h = await history(w.b, conv.id);
  assert.deepEqual(h.body.messages.map((m) => m.text).filter((t) => t.startsWith('while')).sort(),
    ['while redis is down 0', 'while redis is down 1', 'while redis is down 2']);
  // and a new socket gets live events again
  const again = await Ws.open(w.b);
  try {
    await send(w.a, conv.id, 'after the restart');
    await again.waitType('message.new', (e) => e.message.text === 'after the restart');
  } finally {
    await again.close();
  }
});

test('the node holding the lease fires a reminder, once', async () => {
  await until(async () => {
    const t = await (await fetch(metricsBase(w.srv) + '/metrics')).text();
    return value(t, 'cordon_bus_leader') === 1;
  }, 10000, 'lease taken again after the restart');
  const conv = await conversation(w.a, [w.b], { title: 'reminder' });
  const sock = await Ws.open(w.b);
  try {
    const rem = (await w.a.ok('POST', `/conversations/${conv.id}/reminders`,
      { text: 'lease holder fires this', at: Date.now() + 1500, target: 'members', member_ids: [w.b.user.id] }, 201)).reminder;
    await sock.waitType('reminder.due', (e) => e.reminder_id === rem.id, 15000);
    await sleep(2500);
    assert.equal(sock.find((e) => e.type === 'reminder.due' && e.reminder_id === rem.id).length, 1);
  } finally {
    await sock.close();
  }
});

test('two nodes on one Redis: a policy saved on A is in force on B; failed sign-ins on A lock the name on B', async () => {
  // Node B: its own SQLite store (so no members in common), the same Redis
  // and the same policy file.
  const b = await Server.start({ config: { ...config, node_name: 'node-b' }, policy: POLICY });
  try {
    const adminB = await bootstrapAdmin(b);
    const checkB = async () => (await adminB.post('/guard/check', { text: COMMERCIAL })).body.verdict;
    assert.equal(await checkB(), 'confirm', 'the default policy asks to confirm');
    await until(async () => (await ready(b)).status === 200, 5000, 'node B ready');

    const put = await w.admin.req('PUT', '/admin/policy', { text: BLOCKING });
    assert.equal(put.status, 200, put.text);
    assert.equal(fs.readFileSync(POLICY, 'utf8'), BLOCKING, 'saved to the shared file');
    await until(async () => (await adminB.ok('GET', '/admin/policy')).name === 'saved-on-a', 10000, 'node B reloads');
    assert.equal(await checkB(), 'block', 'in force on node B');

    // a login name that exists nowhere: 3 failures on A, locked on B
    for (let i = 0; i < 3; i++) assertError(await login(w.srv.base, 'nobody-here', 'wrong'), 401, 'invalid_credentials');
    const r = await login(b.base, 'nobody-here', 'wrong');
    assertError(r, 429, 'rate_limited', 'locked on node B');
    assert.ok(Number(r.headers.get('retry-after')) > 60, 'for the lockout time');
  } finally {
    const exit = await b.stop();
    await b.dispose();
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
    // the rules back as they were for whatever runs next on node A
    await w.admin.req('PUT', '/admin/policy', { text: DEFAULT });
  }
});
