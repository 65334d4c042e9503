'use strict';
// `cordon serve` as a load-bench target: a fresh server on a temp data dir
// (started by tests/server/lib/server.js), users created through the admin
// API, one WebSocket per simulated client (wslite.js), messages sent with the WS fast
// path (`message.send` -> `message.ack` after the durable commit).
//
// The same target drives one node on SQLite (the default), one node on
// PostgreSQL (opts.store) or several nodes on one PostgreSQL and one Redis
// (opts.nodes > 1, opts.bus): each client connects to one node, chosen by
// nodeOf() as a load balancer without sticky sessions would spread them.
const path = require('node:path');
const { WsLite } = require('./wslite.js');
const { Server } = require('../../tests/server/lib/server.js');
const { sleep, procCpu, procMem } = require('./common.js');
const { classify, partsCpu } = require('./threads.js');

const API = '/api/v1';

async function call(base, token, method, p, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(base + API + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${p} -> ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function pool(items, n, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) { const k = i++; await fn(items[k], k); }
  }));
}

const T_RECEIPT = Buffer.from('{"type":"receipt"'), T_ACK = Buffer.from('{"type":"message.ack"');
const T_NEW = Buffer.from('{"type":"message.new"');
const K_REQ = Buffer.from('"req":'), K_CONV = Buffer.from('"conversation_id":');
function startsWith(buf, prefix) {
  return buf.length >= prefix.length && buf.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}
// The decimal integer after the first occurrence of key, or -1.
function intAfter(buf, key) {
  const i = buf.indexOf(key);
  if (i < 0) return -1;
  let n = 0, j = i + key.length;
  const start = j;
  for (; j < buf.length && buf[j] >= 48 && buf[j] <= 57; j++) n = n * 10 + (buf[j] - 48);
  return j > start ? n : -1;
}

// The node client i connects to. Clients are numbered so that the
// conversations of the scenarios are pairs (2p, 2p+1) and groups of
// consecutive clients: for every other pair the two members sit on
// different nodes (each message crosses the bus), for the others both sit
// on one node (alternating), so half the 1:1 traffic crosses nodes and a
// group's members are spread evenly.
function nodeOf(i, nodes) {
  if (nodes < 2) return 0;
  const p = i >> 1;
  return (p % 2 === 0 ? i % 2 : (p >> 1) % 2) % nodes;
}

class CordonTarget {
  constructor(opts) {
    this.name = opts.name || 'cordon';
    this.cordon = path.resolve(opts.cordon);
    this.store = opts.store || null;
    this.bus = opts.bus || null;
    this.nodes = opts.nodes || 1;
    this.blobDir = opts.blobDir || null;
    this.srvs = [];
    this.threadMaps = [];
    this.users = []; // {id, token}
    this.sockets = [];
    this.acks = true;
    this.onDeliver = () => {};
    this.onAck = () => {};
    this.onError = () => {};
    this.run = 0;
  }

  async start() {
    for (let k = 0; k < this.nodes; k++) {
      const config = {
        limits: {
          requests_per_second: 1000000, burst: 1000000,
          ws_queue_events: 65536, ws_queue_bytes: 64 * 1048576,
          max_connections: 20000, max_group_members: 1000,
        },
        login: { max_failures_per_address: 1000000, max_failures_per_account: 1000000 },
      };
      if (this.store) config.store = this.store;
      if (this.bus) Object.assign(config, { bus: this.bus, node_name: `n${k}` });
      if (this.blobDir) config.blob_dir = this.blobDir;
      // where a message waits (docs/SERVER.md, "Metrics"): read by the
      // bench before and after the measured window (stages())
      // (BENCH_NO_METRICS=1 leaves it out, for an A/B against a build older
      // than the option, which refuses a config key it does not know)
      if (!process.env.BENCH_NO_METRICS) config.metrics_listen = '127.0.0.1:0';
      // the first node makes the administrator; the others find it in the
      // shared store
      const srv = await Server.start({
        cordon: this.cordon,
        // CORDON_BENCH_LOG_LEVEL=debug: the writer's figures every 5 s in the
        // server's log (KEEP_TEST_DATA=1 keeps its data directory and log)
        logLevel: process.env.CORDON_BENCH_LOG_LEVEL || 'warn',
        config,
      });
      this.srvs.push(srv);
      const ml = srv.logLines.find((l) => /cordon: metrics on /.test(l));
      srv.metricsUrl = ml ? /(http:\/\/[^/\s]+\/metrics)/.exec(ml)[1] : null;
      if (k === 0) await this._admin(srv);
    }
    this.srv = this.srvs[0];
    this.pid = this.srv.pid;
    this.pids = this.srvs.map((x) => x.pid);
    if (this.nodes > 1) {
      for (const srv of this.srvs) {
        for (let i = 0; ; i++) {
          if ((await fetch(srv.base + API + '/ready')).status === 200) break;
          if (i > 100) throw new Error(`${this.name}: node ${srv.pid} not ready`);
          await sleep(100);
        }
      }
    }
    // which thread does what, read once before anything is measured
    this.threadMaps = process.env.BENCH_NO_GDB ? this.pids.map(() => ({})) : this.pids.map((pid) => classify(pid));
  }

  // The histograms of where a message waits, of node 0, as
  // {series: {bounds: [s...], cum: [n...]}} (series: "stage=queue",
  // "batch_store", "checkpoint=finish", ...); null without metrics.
  async stages() {
    const url = this.srvs[0] && this.srvs[0].metricsUrl;
    if (!url) return null;
    let text;
    try { text = await (await fetch(url)).text(); } catch { return null; }
    const out = {};
    const re = /^cordon_(message_stage_seconds|writer_batch_store_seconds|store_checkpoint_seconds)_bucket\{(?:(stage|by)="([a-z_]+)",)?le="([^"]+)"\} (\d+)$/gm;
    for (let m; (m = re.exec(text));) {
      const key = m[1] === 'message_stage_seconds' ? m[3] : m[1] === 'writer_batch_store_seconds' ? 'batch_store' : `checkpoint_${m[3]}`;
      const h = (out[key] ||= { bounds: [], cum: [] });
      h.bounds.push(m[4] === '+Inf' ? Infinity : Number(m[4]));
      h.cum.push(Number(m[5]));
    }
    return out;
  }

  // CPU seconds so far of each node, whole and by part (threads.js).
  cpuNodes() {
    return this.pids.map((pid, k) => ({ total: procCpu(pid), parts: partsCpu(pid, this.threadMaps[k]) }));
  }

  memNodes() { return this.pids.map((pid) => procMem(pid)); }

  async _admin(srv) {
    const base = srv.base;
    const pw0 = srv.adminPassword;
    let r = await call(base, null, 'POST', '/auth/login', { login: 'admin', password: pw0 });
    this.adminToken = r.token;
    await call(base, this.adminToken, 'POST', '/auth/password', { old_password: pw0, new_password: 'Bench-Pw-' + pw0.split('').reverse().join('') });
  }

  async ensureUsers(n) {
    const base = this.srv.base;
    const todo = [];
    for (let i = this.users.length; i < n; i++) todo.push(i);
    const made = [];
    await pool(todo, 8, async (i) => {
      const login = `load${i}`;
      const c = await call(base, this.adminToken, 'POST', '/admin/users', { login, display_name: `Load ${i}` });
      const l = await call(base, null, 'POST', '/auth/login', { login, password: c.password });
      await call(base, l.token, 'POST', '/auth/password', { old_password: c.password, new_password: `Bench-${i}-pass-word` });
      made[i] = { id: c.user.id, token: l.token };
    });
    for (const i of todo) this.users[i] = made[i];
  }

  async setup(nclients, convs) {
    this.run++;
    await this.ensureUsers(nclients);
    const base = this.srv.base;
    this.convIds = [];
    this.convIndex = new Map();
    await pool(convs.map((m, i) => [m, i]), 4, async ([members, ci]) => {
      const owner = this.users[members[0]];
      const others = members.slice(1).map((k) => this.users[k].id);
      const body = members.length === 2 ? { kind: 'direct', member_ids: others } : { kind: 'group', title: `load ${ci}`, member_ids: others };
      const c = await call(base, owner.token, 'POST', '/conversations', body);
      this.convIds[ci] = c.id;
      this.convIndex.set(c.id, ci);
    });
    this.sockets = new Array(nclients);
    const idx = [];
    for (let i = 0; i < nclients; i++) idx.push(i);
    await pool(idx, 50, (i) => this._open(i, this.users[i].token).then((ws) => { this.sockets[i] = ws; }));
  }

  _open(client, token, quiet = false) {
    const ws = new WsLite(this.srvs[nodeOf(client, this.nodes)].wsBase + API + '/ws', { Authorization: `Bearer ${token}` }, null);
    return new Promise((resolve, reject) => {
      ws.ready.catch(reject);
      let hello = false;
      ws.onMessage = (data) => {
        if (!hello) { hello = true; resolve(ws); return; }
        if (quiet) return;
        // The frequent frames are read from their bytes, without decoding
        // or JSON.parse: the measuring client's own garbage (its GC pauses)
        // must not show up as the server's latency. The server writes
        // "type" first; anything unexpected takes the general path below.
        if (startsWith(data, T_RECEIPT)) return;
        if (startsWith(data, T_ACK)) {
          const req = intAfter(data, K_REQ);
          if (req >= 0) { this.onAck(true, req); return; }
        } else if (startsWith(data, T_NEW)) {
          const conv = intAfter(data, K_CONV);
          if (conv >= 0) { this.onDeliver(client, this.convIndex.get(conv), data); return; }
        }
        const e = JSON.parse(data.toString());
        if (e.type === 'message.new') this.onDeliver(client, this.convIndex.get(e.message.conversation_id), e.message.text);
        else if (e.type === 'message.ack') this.onAck(true, e.req);
        else if (e.type === 'error') this.onError(e.req, e.error);
        else if (e.type === 'resync') process.stderr.write(`  client ${client}: resync ${e.reason}\n`);
      };
    });
  }

  send(client, conv, text, seq) {
    this.sockets[client].send(`{"type":"message.send","req":${seq},"conversation_id":${this.convIds[conv]},` +
      `"client_id":"r${this.run}-${seq}","text":${JSON.stringify(text)}}`);
    return true;
  }

  async connectOnly(n) {
    await this.ensureUsers(Math.min(n, 1000));
    const idx = [];
    for (let i = 0; i < n; i++) idx.push(i);
    await pool(idx, 100, (i) => this._open(i, this.users[i % this.users.length].token, true).then((ws) => { this.sockets[i] = ws; }));
  }

  async teardown() {
    for (const ws of this.sockets) if (ws) ws.terminate();
    this.sockets = [];
    await sleep(300);
  }

  async stop() {
    for (const srv of this.srvs.reverse()) await srv.dispose();
    this.srvs = [];
  }
}

module.exports = { CordonTarget, nodeOf };
