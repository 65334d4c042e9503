'use strict';
// Two `cordon serve` nodes (issue 19; docs/SCALING.md): one PostgreSQL
// store, one Redis bus, each node its own data_dir; clients of one group
// spread over both nodes, as a load balancer without sticky sessions
// spreads them.
//
//   - members on different nodes receive every message, both ways;
//   - a message sent on node A is in node B's history at once;
//   - Redis shut down for a few seconds and started again loses nothing:
//     each node fills the gap from the store — B's sockets stay connected
//     and get A's messages sent meanwhile, each once, in order; A (whose
//     bound, bus_gap_fill_max, is set below what B sent) has its sockets
//     resync instead — and history holds every message;
//   - what else the bus carried in a gap (a rename, a member added, an
//     alert; a third node cut off from Redis by a relay while A publishes)
//     reaches its open sockets as a `sync` frame after the fill, and the
//     recall of a message older than the fill's floor as itself; a policy
//     saved meanwhile is reloaded by the node after the gap;
//   - a reminder fires once with two nodes up;
//   - an upload started on node A finishes on node B (blob_dir shared);
//   - two PATCHes of one upload at the same offset through A and B at once:
//     one goes on, the other gets 423, the bytes are right;
//   - the lease holder killed (kill -9) during a send loop: no acknowledged
//     message lost, its clients reconnect to the other node and re-read,
//     and the other node takes over the timers; an upload it was writing
//     is free again within the lease (5 s), not locked for ever;
//   - a policy saved on A is in force on B;
//   - a session ended on A closes its socket on B;
//   - uploads do not need Redis (their lease is on the upload's row): with
//     Redis stopped an upload started on A is finished through B and
//     inspected, and a PATCH streaming while Redis stops and stays down 8 s
//     completes;
//   - a session's request bucket holds over the nodes: sending at twice its
//     rate split over two nodes gets 429s for the excess, while the same
//     session at its rate on one node gets none.
//
// Needs PostgreSQL: run by tests/server/run-pg.sh (meson test
// `server-cluster`), which names a PostgreSQL cluster in
// CORDON_TEST_STORE_PG — scripts/test.sh's, or one it starts with
// scripts/pg-test-server.sh. Elsewhere (the plain `server` suite, even with
// CORDON_TEST_PG set) its tests are reported as skipped, never as passed:
// it runs once per CI run, in `server-cluster`.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const net = require('node:net');
const { spawnSync } = require('node:child_process');
const { Api, Ws, conversation, history, send, bootstrapAdmin, makeUser } = require('../lib/client.js');
const { Server, sleep, ROOT, SLOW } = require('../lib/server.js');
const { Redis } = require('../lib/redis.js');
const { TUS, b64 } = require('../lib/uploads.js');

const PG = process.env.CORDON_TEST_STORE_PG;
// Both nodes on one database: not the per-server databases the harness
// makes when run-pg.sh runs the other files on PostgreSQL.
delete process.env.CORDON_TEST_STORE_PG;

const DEFAULT = fs.readFileSync(path.join(ROOT, 'data', 'policy', 'default.yaml'), 'utf8');
const BLOCKING = DEFAULT.replace(/^name: default$/m, 'name: cluster-saved')
  .replace(/(id: commercial-marking[\s\S]*?action: )confirm/, '$1block');
const COMMERCIAL = '核心商密\n新产品定价策略（草案）';

// A fresh database on that cluster, for both nodes.
function database() {
  const name = `cordon_cluster_${process.pid}`;
  const r = spawnSync('psql', [PG, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`,
    '-c', `CREATE DATABASE ${name}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  const m = /^(postgres(?:ql)?:\/\/[^/]*\/)([^?]*)(.*)$/.exec(PG);
  if (!m) throw new Error(`CORDON_TEST_STORE_PG: not a postgresql:// URL: ${PG}`);
  return { name, url: m[1] + name + m[3] };
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

// The same user's session, talking to another node.
const on = (srv, api) => Object.assign(new Api(srv.base, api.token), { user: api.user, login: api.login, password: api.password });

async function metric(srv, series) {
  const line = srv.logLines.find((l) => /cordon: metrics on /.test(l));
  const base = /(http:\/\/[^/\s]+)\/metrics/.exec(line)[1];
  const text = await (await fetch(base + '/metrics')).text();
  const l = text.split('\n').find((x) => x.startsWith(series + ' '));
  return l ? Number(l.slice(series.length + 1)) : NaN;
}

const skip = PG ? false : 'two nodes need PostgreSQL: run by tests/server/run-pg.sh (meson test server-cluster)';
const c = {};

before(async () => {
  if (!PG) return;
  c.redis = Redis.start();
  c.db = database();
  c.shared = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-shared-'));
  c.policy = path.join(c.shared, 'policy.yaml');
  fs.writeFileSync(c.policy, DEFAULT);
  const config = (name) => ({ store: c.db.url, bus: c.redis.url, node_name: name, metrics_listen: '127.0.0.1:0',
    blob_dir: path.join(c.shared, 'blobs') });
  // A fills at most 3 missed messages after a gap, beyond that its sockets
  // resync; B keeps the default (1,000)
  c.A = await Server.start({ config: { ...config('a'), bus_gap_fill_max: 3 }, policy: c.policy });
  c.admin = await bootstrapAdmin(c.A);
  // B finds the admin in the shared store: no bootstrap there
  c.B = await Server.start({ config: config('b'), policy: c.policy });
  for (const k of ['a', 'b', 'c']) c[k] = await makeUser(c.admin);
  await until(async () => (await fetch(c.B.base + '/api/v1/ready')).status === 200, 10000, 'B ready');
});

after(async () => {
  for (const s of [c.A, c.B]) if (s) { await s.stop(); await s.dispose(); }
  if (c.redis) c.redis.stop();
  if (c.db) spawnSync('psql', [PG, '-qc', `DROP DATABASE IF EXISTS ${c.db.name} WITH (FORCE)`]);
  if (c.shared) fs.rmSync(c.shared, { recursive: true, force: true });
});

test('members on different nodes receive every message, both ways; B\'s history has A\'s message at once', { skip }, async () => {
  const conv = await conversation(c.a, [c.b, c.c], { title: 'two nodes' });
  const sa = await Ws.open(c.a), sb = await Ws.open(on(c.B, c.b)), sc = await Ws.open(on(c.B, c.c));
  try {
    for (let i = 0; i < 20; i++) {
      const r = await send(c.a, conv.id, `from A ${i}`);
      assert.equal(r.status, 201, r.text);
      if (i === 0) {
        const h = await history(on(c.B, c.b), conv.id);
        assert.ok(h.body.messages.some((m) => m.id === r.body.message.id), 'in B\'s history at once');
      }
    }
    for (const s of [sb, sc]) {
      await s.waitType('message.new', (e) => e.message.text === 'from A 19');
      const got = s.find((e) => e.type === 'message.new' && e.message.conversation_id === conv.id).map((e) => e.message.text);
      assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => `from A ${i}`), 'every message, in order');
    }
    // the sender on A hears that its message reached B's sockets (delivered on node B)
    await sa.waitType('receipt', (e) => e.kind === 'delivered' && e.conversation_id === conv.id &&
      e.user_ids.includes(c.b.user.id), 10000);
    const r = await send(on(c.B, c.b), conv.id, 'from B');
    assert.equal(r.status, 201, r.text);
    await sa.waitType('message.new', (e) => e.message.text === 'from B');
  } finally {
    for (const s of [sa, sb, sc]) await s.close();
  }
});

test('Redis shut down for a few seconds and started again loses nothing', { skip }, async () => {
  const conv = await conversation(c.a, [c.b, c.c], { title: 'redis away' });
  const AWAY = Array.from({ length: 5 }, (_, i) => `away ${i}`);
  const BACK = Array.from({ length: 5 }, (_, i) => `back ${i}`);
  const texts = (s) => s.find((e) => e.type === 'message.new' && e.message.conversation_id === conv.id)
    .map((e) => e.message.text);
  // b and c on B (c opened only to count: two sockets, one fill each), a on A
  const sb = await Ws.open(on(c.B, c.b)), sc = await Ws.open(on(c.B, c.c)), sa = await Ws.open(c.a);
  try {
    c.redis.shutdown();
    for (const t of AWAY) assert.equal((await send(c.a, conv.id, t)).status, 201);
    for (const t of BACK) assert.equal((await send(on(c.B, c.b), conv.id, t)).status, 201);
    await sleep(3000);
    c.redis.restart();
    // B fills from the store: its sockets stay, every message of A arrives,
    // once, in order, after what B's own sockets saw at once
    for (const s of [sb, sc]) {
      await s.waitType('message.new', (e) => e.message.text === 'away 4', 20000);
      assert.deepEqual(texts(s), [...BACK, ...AWAY], 'each once, in order');
    }
    // (the fill logs once it handed everything on)
    await until(() => c.B.logLines.some((l) => /gap filled from the store: [1-9]/.test(l)), 5000,
      'B read them from the store');
    // A missed 5 of B's, more than its bound (3): its socket resyncs
    const rs = await sa.waitType('resync', () => true, 20000);
    assert.equal(rs.reason, 'bus_gap');
    assert.equal((await sa.closed).code, 4002);
    await until(async () => (await fetch(c.A.base + '/api/v1/ready')).status === 200 &&
      (await fetch(c.B.base + '/api/v1/ready')).status === 200, 15000, 'both ready again');
    await send(c.a, conv.id, 'live again');
    for (const s of [sb, sc]) {
      await s.waitType('message.new', (e) => e.message.text === 'live again');
      assert.equal(s.find((e) => e.type === 'resync').length, 0, 'no resync on B');
      assert.equal(s.closeInfo, null, 'B\'s sockets stayed connected');
      assert.deepEqual(texts(s), [...BACK, ...AWAY, 'live again'], 'nothing twice, even after the live events resumed');
    }
  } finally {
    for (const s of [sb, sc, sa]) await s.close();
  }
  // A's client re-reads: every message is there
  const h = await history(c.a, conv.id);
  assert.deepEqual(h.body.messages.map((m) => m.text).filter((t) => /^(away|back)/.test(t)).sort(),
    [...AWAY, ...BACK].sort());
  const sa2 = await Ws.open(c.a);
  try {
    await send(on(c.B, c.b), conv.id, 'live on A');
    await sa2.waitType('message.new', (e) => e.message.text === 'live on A');
  } finally {
    await sa2.close();
  }
});

test('what the gap fill delivers is what history serves each member: the join boundary, the inbound warning', { skip }, async () => {
  const x = await makeUser(c.admin, { external: true }), y = await makeUser(c.admin, { external: true });
  const late = await makeUser(c.admin);
  const conv = await conversation(c.a, [c.b, x, y], { title: 'filled as history serves it' });
  const of = (s) => s.find((e) => e.type === 'message.new' && e.message.conversation_id === conv.id).map((e) => e.message);
  // b internal, y external, `late` joins during the outage: all on B
  const sb = await Ws.open(on(c.B, c.b)), sy = await Ws.open(on(c.B, y)), sl = await Ws.open(on(c.B, late));
  const fills = () => c.B.logLines.filter((l) => /gap filled from the store: [3-9]/.test(l)).length;
  const fills0 = fills();
  try {
    // delivered before the outage, recalled during it
    const early = await send(c.a, conv.id, 'said before the outage');
    for (const s of [sb, sy]) await s.waitType('message.new', (e) => e.message.id === early.body.message.id);
    c.redis.shutdown();
    await c.a.ok('POST', `/messages/${early.body.message.id}/recall`, {}, 204);
    const before = await send(c.a, conv.id, 'before the join');
    assert.equal(before.status, 201, before.text);
    await c.a.ok('POST', `/conversations/${conv.id}/members`, { user_id: late.user.id }, 204);
    const link = await send(x, conv.id, '官方通知：请尽快登录 http://203.0.113.7/login.php 核对信息', { justification: '官方通知' });
    assert.equal(link.status, 201, link.text);
    const after = await send(c.a, conv.id, 'after the join');
    await sleep(3000);
    c.redis.restart();
    for (const s of [sb, sy, sl]) await s.waitType('message.new', (e) => e.message.id === after.body.message.id, 20000);
    await until(() => fills() > fills0, 5000, 'B filled them from the store');
    const ids = (s) => of(s).map((m) => m.id).filter((id) => id !== early.body.message.id);
    assert.deepEqual(ids(sb), [before.body.message.id, link.body.message.id, after.body.message.id]);
    assert.deepEqual(ids(sy), ids(sb));
    // the recall of the meantime reaches those who had the message, not `late`
    for (const s of [sb, sy]) await s.waitType('message.recalled', (e) => e.message_id === early.body.message.id, 5000);
    assert.equal(sl.find((e) => e.type === 'message.recalled').length, 0);
    assert.deepEqual(ids(sl), [link.body.message.id, after.body.message.id], 'nothing from before the join');
    // the inbound warning for the organisation's own people only
    const rules = (m) => (m.inbound_warning?.findings || []).map((f) => f.rule);
    const linkOf = (s) => of(s).find((m) => m.id === link.body.message.id);
    assert.deepEqual(rules(linkOf(sb)), ['link.ip_host']);
    assert.deepEqual(rules(linkOf(sl)), ['link.ip_host']);
    assert.equal(linkOf(sy).inbound_warning, undefined);
    // each as history serves it
    for (const [s, api] of [[sb, c.b], [sy, y], [sl, late]]) {
      const h = (await history(on(c.B, api), conv.id)).body.messages.reverse().filter((m) => m.id !== early.body.message.id);
      assert.deepEqual(of(s).filter((m) => m.id !== early.body.message.id).map((m) => [m.id, m.text, m.inbound_warning ?? null]),
        h.map((m) => [m.id, m.text, m.inbound_warning ?? null]));
      assert.equal(s.closeInfo, null, 'stayed connected');
    }
  } finally {
    for (const s of [sb, sy, sl]) await s.close();
  }
});

// A TCP relay to Redis that can cut a node off while the others stay
// connected: the node's subscription drops, what is published meanwhile is
// lost to it (a network blip, a slow subscriber dropped by Redis), and
// when the relay lets it through again it resubscribes and fills the gap.
async function redisRelay(port) {
  const socks = new Set();
  const r = { down: false };
  r.server = net.createServer((s) => {
    if (r.down) { s.destroy(); return; }
    const up = net.connect(port, '127.0.0.1');
    for (const x of [s, up]) { socks.add(x); x.on('close', () => socks.delete(x)); x.on('error', () => undefined); }
    s.pipe(up); up.pipe(s);
    s.on('close', () => up.destroy()); up.on('close', () => s.destroy());
  });
  await new Promise((ok) => r.server.listen(0, '127.0.0.1', ok));
  r.url = `redis://127.0.0.1:${r.server.address().port}`;
  r.cut = () => { r.down = true; for (const x of socks) x.destroy(); };
  r.heal = () => { r.down = false; };
  r.close = () => { r.cut(); r.server.close(); };
  return r;
}

test('a gap hides no other event: a rename, a member added, an old message recalled, an alert, a policy saved — the sockets get the recall and a sync, a re-read shows the rest, the policy is reloaded', { skip }, async () => {
  // node C reaches Redis through the relay; A stays connected and publishes
  const relay = await redisRelay(c.redis.port);
  const C = await Server.start({ config: { store: c.db.url, bus: relay.url, node_name: 'c', metrics_listen: '127.0.0.1:0',
    blob_dir: path.join(c.shared, 'blobs') }, policy: c.policy });
  const conv = await conversation(c.a, [c.b], { title: 'before the gap' });
  let sb, offC;
  try {
    await until(async () => (await fetch(C.base + '/api/v1/ready')).status === 200, 10000, 'C ready');
    sb = await Ws.open(on(C, c.b));
    offC = await Ws.open(on(C, c.admin));
    // delivered by C, then older than the fill's floor (5 s before the gap)
    const old = await send(c.a, conv.id, 'said long before the gap');
    assert.equal(old.status, 201, old.text);
    await sb.waitType('message.new', (e) => e.message.id === old.body.message.id);
    await sleep(7000);
    const gap = Date.now();
    relay.cut();
    await until(async () => (await fetch(C.base + '/api/v1/ready')).status === 503, 10000, 'C off the bus');
    await c.a.ok('PATCH', `/conversations/${conv.id}`, { title: 'renamed in the gap' });
    await c.a.ok('POST', `/conversations/${conv.id}/members`, { user_id: c.c.user.id }, 204);
    await c.a.ok('POST', `/messages/${old.body.message.id}/recall`, {}, 204);
    const blocked = await send(c.a, conv.id, '机密★1年 会议纪要（缺口期间）');
    assert.equal(blocked.status, 403, blocked.text);
    // an admin's policy change: its reload broadcast is lost to C too
    const put = await c.admin.req('PUT', '/admin/policy', { text: BLOCKING });
    assert.equal(put.status, 200, put.text);
    await sleep(1500);
    assert.equal((await on(C, c.admin).post('/guard/check', { text: COMMERCIAL })).body.verdict, 'confirm',
      'C did not hear of the change (else this shows nothing)');
    relay.heal();
    // the recall, from the store's recalled_at, then the sync frame
    await sb.waitType('message.recalled', (e) => e.message_id === old.body.message.id, 20000);
    const sync = await sb.waitType('sync', () => true, 20000);
    assert.ok(sync.since <= gap && sync.since > gap - 60000, `since ${sync.since}, the gap began at ${gap}`);
    const at = (s, type) => s.events.findIndex((e) => e.type === type);
    assert.ok(at(sb, 'message.recalled') < at(sb, 'sync'), 'the recall before the sync');
    await offC.waitType('sync', () => true, 20000);
    // the events themselves were lost with the bus (else this shows nothing)
    assert.equal(sb.find((e) => e.type === 'conversation.updated' || e.type === 'member.added').length, 0);
    assert.equal(offC.find((e) => e.type === 'alert.new').length, 0);
    // what a client reads after the sync (as the web client does)
    const b = on(C, c.b);
    const mine = (await b.ok('GET', '/conversations')).conversations.find((x) => x.id === conv.id);
    assert.equal(mine.title, 'renamed in the gap');
    assert.equal(mine.member_count, 3);
    assert.ok((await b.ok('GET', `/conversations/${conv.id}`)).members.some((m) => m.user_id === c.c.user.id),
      'the member added in the gap');
    const alerts = await on(C, c.admin).ok('GET', `/alerts?conversation_id=${conv.id}`);
    assert.equal(alerts.alerts.length, 1, 'the alert raised in the gap');
    const h = await history(b, conv.id);
    assert.ok(h.body.messages.find((m) => m.id === old.body.message.id).recalled, 'recalled in history too');
    for (const s of [sb, offC]) {
      assert.equal(s.find((e) => e.type === 'resync').length, 0, 'no resync');
      assert.equal(s.closeInfo, null, 'stayed connected');
    }
    assert.ok(C.logLines.some((l) => /gap fill: 1 recalls of messages up to/.test(l)), 'C logs the recall it re-sent');
    // after a gap a node reads the policy files again: the change is in force on C
    await until(async () => (await on(C, c.admin).post('/guard/check', { text: COMMERCIAL })).body.verdict === 'block',
      10000, 'C reloads the policy after the gap');
  } finally {
    await c.admin.req('PUT', '/admin/policy', { text: DEFAULT });
    for (const s of [sb, offC]) if (s) await s.close();
    await C.stop();
    await C.dispose();
    relay.close();
  }
});

test('a reminder fires once with two nodes up', { skip }, async () => {
  const conv = await conversation(c.a, [c.b], { title: 'reminder' });
  const socks = [await Ws.open(on(c.A, c.b)), await Ws.open(on(c.B, c.b))];
  try {
    // the test before may have restarted Redis: the lease is taken again
    // within a lease time, so wait for one leader rather than read a moment
    await until(async () => (await metric(c.A, 'cordon_bus_leader')) + (await metric(c.B, 'cordon_bus_leader')) === 1,
      15000, 'one leader');
    const rem = (await c.a.ok('POST', `/conversations/${conv.id}/reminders`,
      { text: 'once across nodes', at: Date.now() + 1500, target: 'members', member_ids: [c.b.user.id] }, 201)).reminder;
    for (const s of socks) await s.waitType('reminder.due', (e) => e.reminder_id === rem.id, 15000);
    await sleep(3000);
    for (const s of socks) assert.equal(s.find((e) => e.type === 'reminder.due' && e.reminder_id === rem.id).length, 1);
    const h = await history(c.b, conv.id);
    assert.equal(h.body.messages.filter((m) => m.kind === 'reminder').length, 1, 'one card');
  } finally {
    for (const s of socks) await s.close();
  }
});

test('a policy saved on A is in force on B', { skip }, async () => {
  const adminB = on(c.B, c.admin);
  assert.equal((await adminB.post('/guard/check', { text: COMMERCIAL })).body.verdict, 'confirm');
  const put = await c.admin.req('PUT', '/admin/policy', { text: BLOCKING });
  assert.equal(put.status, 200, put.text);
  await until(async () => (await adminB.ok('GET', '/admin/policy')).name === 'cluster-saved', 10000, 'B reloads');
  assert.equal((await adminB.post('/guard/check', { text: COMMERCIAL })).body.verdict, 'block');
  await c.admin.req('PUT', '/admin/policy', { text: DEFAULT });
});

test('officers on either node: a blocked message\'s alert and its acknowledgement reach both', { skip }, async () => {
  const conv = await conversation(c.a, [c.b], { title: 'alerts' });
  const offA = await Ws.open(c.admin), offB = await Ws.open(on(c.B, c.admin));
  try {
    const r = await send(on(c.B, c.a), conv.id, '机密★1年 会议纪要');
    assert.equal(r.status, 403, r.text);
    const evA = await offA.waitType('alert.new', (e) => e.alert.conversation_id === conv.id, 10000);
    await offB.waitType('alert.new', (e) => e.alert.id === evA.alert.id, 10000);
    // acknowledged on A (a handler's event, outside the chat bus): B's officer sees it too
    await c.admin.ok('POST', `/alerts/${evA.alert.id}/ack`, {});
    await offB.waitType('alert.updated', (e) => e.alert.id === evA.alert.id && e.alert.status === 'acked', 10000);
    await offA.waitType('alert.updated', (e) => e.alert.id === evA.alert.id, 10000);
  } finally {
    await offA.close();
    await offB.close();
  }
});

test('a session ended on A closes its socket on B', { skip }, async () => {
  const r = await fetch(c.A.base + '/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: c.c.login, password: c.c.password }) });
  const s2 = await r.json();
  const sock = await Ws.open(new Api(c.B.base, s2.token));
  await c.c.ok('DELETE', `/sessions/${s2.session_id}`);
  const closed = await Promise.race([sock.closed, sleep(3000 * SLOW).then(() => null)]);
  assert.ok(closed, 'closed within 3 s');
  assert.equal(closed.code, 4001);
});

test('an upload started on node A finishes on node B', { skip }, async () => {
  const conv = await conversation(c.a, [c.b], { title: 'upload across nodes' });
  const bytes = Buffer.from('Quarterly figures, nothing sensitive.\n'.repeat(4000));
  const half = 64 * 1024;
  const created = await c.a.req('POST', '/uploads', undefined, {
    headers: { ...TUS, 'Upload-Length': String(bytes.length), 'Upload-Metadata': `filename ${b64('figures.txt')},conversation_id ${b64(conv.id)}` },
  });
  assert.equal(created.status, 201, created.text);
  const id = created.headers.get('location').split('/').pop();
  const patch = (api, from, to) => api.req('PATCH', `/uploads/${id}`, undefined, {
    raw: bytes.subarray(from, to), headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(from) },
  });
  assert.equal((await patch(c.a, 0, half)).status, 204);
  const onB = on(c.B, c.a);
  const head = await onB.req('HEAD', `/uploads/${id}`, undefined, { headers: TUS });
  assert.equal(head.status, 200, head.text);
  assert.equal(head.headers.get('upload-offset'), String(half), 'node B knows the offset');
  const rest = await patch(onB, half, bytes.length);
  assert.equal(rest.status, 204, rest.text);
  const up = await until(async () => {
    const r = await onB.get(`/uploads/${id}`);
    return r.body.state !== 'uploading' && r.body.state !== 'inspecting' && r.body;
  }, 60000, 'inspected');
  assert.equal(up.state, 'ready', JSON.stringify(up));
  const sent = await onB.post(`/conversations/${conv.id}/messages`, { client_id: `up-${process.pid}`, text: 'the figures', attachments: [up.file_id] });
  assert.equal(sent.status, 201, sent.text);
  const got = await fetch(`${c.A.base}/api/v1/files/${up.file_id}`, { headers: { Authorization: `Bearer ${c.b.token}` } });
  assert.equal(got.status, 200);
  assert.ok(Buffer.from(await got.arrayBuffer()).equals(bytes), 'node A serves the bytes B finished');
});

// A PATCH whose body is held open: `first` bytes now, the rest on finish().
function heldPatch(base, token, id, offset, body, first) {
  const u = new URL(`${base}/api/v1/uploads/${id}`);
  let req;
  const answer = new Promise((resolve) => {
    req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'PATCH', headers: {
      Authorization: `Bearer ${token}`, 'Tus-Resumable': '1.0.0', 'Content-Type': 'application/offset+octet-stream',
      'Upload-Offset': String(offset), 'Content-Length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', (e) => resolve(e));
  });
  req.write(body.subarray(0, first));
  return { answer, finish: () => req.end(body.subarray(first)), drop: () => req.destroy() };
}

async function newUpload(api, convId, length, name) {
  const created = await api.req('POST', '/uploads', undefined, {
    headers: { ...TUS, 'Upload-Length': String(length), 'Upload-Metadata': `filename ${b64(name)},conversation_id ${b64(convId)}` },
  });
  assert.equal(created.status, 201, created.text);
  return created.headers.get('location').split('/').pop();
}

const tusPatch = (api, id, from, bytes) => api.req('PATCH', `/uploads/${id}`, undefined, {
  raw: bytes, headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(from) },
});

// The upload's lease on its row in the store (srv_upload_lease.h): which
// process holds it ("NODE/PID/RANDOM"), '' when nobody does.
const leaseOf = (id) => {
  const r = spawnSync('psql', [c.db.url, '-Atqc', `SELECT coalesce(lease_owner, '') FROM uploads WHERE id = '${id}'`],
    { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  return r.stdout.trim();
};

async function readyBytes(api, srv, id) {
  const up = await until(async () => {
    const r = await api.get(`/uploads/${id}`);
    return r.body.state !== 'uploading' && r.body.state !== 'inspecting' && r.body;
  }, 60000, 'inspected');
  assert.equal(up.state, 'ready', JSON.stringify(up));
  const got = await fetch(`${srv.base}/api/v1/files/${up.file_id}`, { headers: { Authorization: `Bearer ${api.token}` } });
  assert.equal(got.status, 200);
  return Buffer.from(await got.arrayBuffer());
}

test('two PATCHes of one upload at the same offset through two nodes at once: one writes, the other gets 423', { skip }, async () => {
  const conv = await conversation(c.a, [c.b], { title: 'two writers' });
  const bytes = Buffer.from('Minutes of the budget meeting, nothing sensitive.\n'.repeat(6000));
  const id = await newUpload(c.a, conv.id, bytes.length, 'minutes.txt');
  // A's PATCH from offset 0 holds the upload while its body streams
  const held = heldPatch(c.A.base, c.a.token, id, 0, bytes, 1024);
  await until(() => /^a\//.test(leaseOf(id)), 10000, 'A holds the lease');
  const other = Buffer.from('Something else entirely.\n'.repeat(12000)).subarray(0, bytes.length);
  const onB = on(c.B, c.a);
  const second = await tusPatch(onB, id, 0, other);
  assert.equal(second.status, 423, second.text);
  assert.equal(second.body.error.code, 'upload_locked');
  held.finish();
  assert.equal(await held.answer, 204);
  assert.equal(leaseOf(id), '', 'the lease is let go when the PATCH ends');
  const head = await onB.req('HEAD', `/uploads/${id}`, undefined, { headers: TUS });
  assert.equal(head.headers.get('upload-offset'), String(bytes.length));
  assert.ok((await readyBytes(onB, c.B, id)).equals(bytes), 'the bytes are the first writer\'s, whole');
});

test('with Redis stopped, an upload started on A is finished through B and inspected (no 503)', { skip }, async () => {
  const conv = await conversation(c.a, [c.b], { title: 'uploads without redis' });
  const bytes = Buffer.from('Travel plan for the audit team, nothing sensitive.\n'.repeat(3000));
  const half = 40 * 1024;
  const id = await newUpload(c.a, conv.id, bytes.length, 'travel.txt');
  c.redis.shutdown();
  try {
    await until(async () => (await fetch(c.B.base + '/api/v1/ready')).status !== 200, 10000, 'B sees Redis gone');
    const first = await tusPatch(c.a, id, 0, bytes.subarray(0, half));
    assert.equal(first.status, 204, first.text);
    const onB = on(c.B, c.a);
    const head = await onB.req('HEAD', `/uploads/${id}`, undefined, { headers: TUS });
    assert.equal(head.headers.get('upload-offset'), String(half));
    const rest = await tusPatch(onB, id, half, bytes.subarray(half));
    assert.equal(rest.status, 204, rest.text);
    assert.equal(leaseOf(id), '', 'the lease is let go when the PATCH ends');
    assert.ok((await readyBytes(onB, c.B, id)).equals(bytes), 'inspected, the bytes whole');
  } finally {
    c.redis.restart();
    await until(async () => (await fetch(c.B.base + '/api/v1/ready')).status === 200, 20000, 'B ready again');
  }
});

test('a PATCH streaming while Redis stops and stays down 8 s completes, its lease never lost', { skip }, async () => {
  const conv = await conversation(c.a, [c.b], { title: 'long patch' });
  const bytes = Buffer.from('Inventory of the archive room, nothing sensitive.\n'.repeat(8000));
  const id = await newUpload(c.a, conv.id, bytes.length, 'inventory.txt');
  const lostBefore = await metric(c.A, 'cordon_upload_leases_lost_total');
  assert.equal(lostBefore, 0, 'the lease metrics are on /metrics');
  const held = heldPatch(c.A.base, c.a.token, id, 0, bytes, 4096);
  await until(() => /^a\//.test(leaseOf(id)), 10000, 'A holds the lease');
  c.redis.shutdown();
  try {
    await sleep(8000); // longer than the lease (5 s): renewed through the store meanwhile
    // B, asked to write it, is refused: A still holds it
    const onB = on(c.B, c.a);
    const other = await tusPatch(onB, id, 0, bytes.subarray(0, 100));
    assert.equal(other.status, 423, other.text);
    assert.ok(leaseOf(id).startsWith('a/'), 'A still holds the lease after 8 s');
    held.finish();
    assert.equal(await held.answer, 204);
    assert.equal(await metric(c.A, 'cordon_upload_leases_lost_total'), lostBefore);
    assert.ok(await metric(c.B, 'cordon_upload_leases_refused_total') >= 1);
    assert.ok((await readyBytes(onB, c.B, id)).equals(bytes), 'the bytes whole');
  } finally {
    c.redis.restart();
    await until(async () => (await fetch(c.B.base + '/api/v1/ready')).status === 200, 20000, 'B ready again');
  }
});

test('a session sending at twice its rate split over two nodes gets 429s for the excess', { skip }, async () => {
  // two more nodes with a low per-session limit (10 a second, burst 10)
  const limits = { requests_per_second: 10, burst: 10 };
  const node = (name) => Server.start({ config: { store: c.db.url, bus: c.redis.url, node_name: name,
    blob_dir: path.join(c.shared, 'blobs'), limits }, policy: c.policy });
  const R1 = await node('r1'), R2 = await node('r2');
  try {
    const s1 = on(R1, c.c), s2 = on(R2, c.c);
    // paced: one request every 50 ms, alternating nodes (20 a second: 10 on each)
    const paced = async (apis, n, every) => {
      const codes = [];
      const t0 = Date.now();
      const pending = [];
      for (let i = 0; i < n; i++) {
        const wait = t0 + i * every - Date.now();
        if (wait > 0) await sleep(wait);
        pending.push(apis[i % apis.length].get('/me').then((r) => codes.push(r.status)));
      }
      await Promise.all(pending);
      return codes;
    };
    // one node at 8 a second: under its rate, never refused (its own use
    // reported to Redis is not taken for another node's)
    const alone = await paced([s1], 40, 125);
    assert.deepEqual(alone.filter((x) => x !== 200), [], 'one node at its rate: no 429');
    await sleep(2500); // the bucket refills
    const codes = await paced([s1, s2], 120, 50);
    const ok = codes.filter((x) => x === 200).length, limited = codes.filter((x) => x === 429).length;
    assert.equal(ok + limited, codes.length, `only 200 and 429: ${codes}`);
    // 6 s at 20 a second: 120 asked, about 10 × 6 + the burst allowed
    // (each node alone would have let all of them through)
    assert.ok(limited >= 25, `${limited} of 120 refused (${ok} allowed)`);
    assert.ok(ok <= 95, `${ok} of 120 allowed`);
    console.log(`# 120 requests in 6 s over two nodes at a 10/s limit: ${ok} allowed, ${limited} × 429`);
  } finally {
    for (const n of [R1, R2]) { await n.stop(); await n.dispose(); }
  }
});

// Kills a node: the last test that needs both.
test('the lease holder killed during a send loop: nothing acknowledged lost, clients move, timers go on', { skip }, async () => {
  const leaderIsA = (await metric(c.A, 'cordon_bus_leader')) === 1;
  const [dead, alive] = leaderIsA ? [c.A, c.B] : [c.B, c.A];
  const conv = await conversation(on(alive, c.a), [c.b], { title: 'failover' });
  const sockDead = await Ws.open(on(dead, c.b));
  // an upload the doomed node is writing when it dies
  const bytes = Buffer.from('Site survey notes, nothing sensitive.\n'.repeat(5000));
  const upId = await newUpload(on(alive, c.a), conv.id, bytes.length, 'survey.txt');
  const held = heldPatch(dead.base, c.a.token, upId, 0, bytes, 1024);
  const deadName = dead === c.A ? 'a' : 'b';
  await until(() => leaseOf(upId).startsWith(`${deadName}/`), 10000, 'the doomed node holds the lease');
  const acked = [];
  let stop = false;
  const loop = (async () => {
    for (let i = 0; !stop; i++) {
      const r = await send(on(dead, c.a), conv.id, `loop ${i}`).catch(() => null);
      if (r && r.status === 201) acked.push(r.body.message.id);
      else if (!r) break; // the node is gone
    }
  })();
  await sleep(1500);
  await dead.kill9();
  const killedAt = Date.now();
  stop = true;
  await loop;
  held.drop();
  // the lease outlives the node by at most its length (5 s): then the
  // upload is writable through the other node, from what reached the disk
  const statuses = [];
  for (;;) {
    const off = Number((await on(alive, c.a).req('HEAD', `/uploads/${upId}`, undefined, { headers: TUS }))
      .headers.get('upload-offset'));
    const r = await tusPatch(on(alive, c.a), upId, off, bytes.subarray(off));
    statuses.push(r.status);
    if (r.status === 204) break;
    assert.equal(r.status, 423, r.text);
    assert.ok(Date.now() - killedAt < 10000 * SLOW, `still locked ${Date.now() - killedAt} ms after the kill`);
    await sleep(250);
  }
  const freedAfter = Date.now() - killedAt;
  assert.ok((await readyBytes(on(alive, c.a), alive, upId)).equals(bytes), 'the upload finished whole on the other node');
  assert.ok(acked.length > 0, 'some sends were acknowledged before the kill');
  await sockDead.closed;
  // the client reconnects to the other node and re-reads
  const sock = await Ws.open(on(alive, c.b));
  try {
    const ids = new Set();
    for (let before = ''; ;) {
      const h = await on(alive, c.b).get(`/conversations/${conv.id}/messages${before}`);
      assert.equal(h.status, 200, h.text);
      for (const m of h.body.messages) ids.add(m.id);
      if (!h.body.messages.length || !h.body.next_before) break;
      before = `?before=${h.body.next_before}`;
    }
    const lost = acked.filter((id) => !ids.has(id));
    assert.deepEqual(lost, [], `${acked.length} acknowledged, every one in history on the other node`);

    const t0 = Date.now();
    const rem = (await on(alive, c.a).ok('POST', `/conversations/${conv.id}/reminders`,
      { text: 'after failover', at: Date.now() + 1000, target: 'members', member_ids: [c.b.user.id] }, 201)).reminder;
    await sock.waitType('reminder.due', (e) => e.reminder_id === rem.id, 20000);
    // the lease (5 s) runs out, the next heartbeat (1 s) takes it
    assert.ok(Date.now() - t0 < 10000 * SLOW, `fired ${Date.now() - t0} ms after`);
    assert.equal(await metric(alive, 'cordon_bus_leader'), 1);
    console.log(`# ${acked.length} sends acknowledged before the kill, all in history; ` +
      `a reminder due 1 s after the kill fired ${Date.now() - t0} ms after it was made; ` +
      `the dead node's upload writable again ${freedAfter} ms after the kill (${statuses.length - 1} × 423 before)`);
  } finally {
    await sock.close();
  }
});
