'use strict';
// bench/load/load.js — the server load bench (docs/BENCH.md, "Server load").
//
// usage: node load.js [--cordon PATH] [--only NAMES] [--dur S] [--warm S]
//                     [--no-cordon] [--no-mqtt] [--json FILE] [--conns N]
//                     [--targets sqlite,pg,cluster,mosquitto]
//
// Runs every scenario against `cordon serve` and against mosquitto (the
// no-persistence, no-inspection reference), prints each figure with the
// ratio cordon/mosquitto, then PASS/MISS for the targets of issue 4.
// With pg and cluster among the targets (the default when PostgreSQL and
// Redis are installed), the same scenarios also run against one node on
// PostgreSQL and two nodes on PostgreSQL + Redis (issue 19), and the CPU of
// each part per message is printed (node: loop, workers, writer, bus;
// PostgreSQL; Redis; bytes through Redis).
// Exit status 0 whenever the bench ran, whatever the figures.
//
// BENCH_LAT_FILE=PATH: each delivery's send time and latency (µs, the
// generator's monotonic clock; first line "T0 <offset>") to PATH.<target>,
// and each of the generator's GCs (start, length, kind) to
// PATH.gc.<target>, to find what a tail sat on (docs/BENCH.md "Session 12").
const fs = require('node:fs');
const os = require('node:os');
const { monitorEventLoopDelay, PerformanceObserver, performance } = require('node:perf_hooks');
const { makeText, parseText, parseTextBuf, nowUs, Hist, sleep } = require('./common.js');
const { MqttTarget } = require('./mqtt_target.js');
const { Postgres, Redis } = require('./infra.js');

// the bench starts its own databases: not the test harness' per-server ones
delete process.env.CORDON_TEST_STORE_PG;
delete process.env.CORDON_TEST_BUS;
const ALL_TARGETS = ['sqlite', 'pg', 'cluster', 'mosquitto'];
const LABEL = { cordon: 'sqlite', 'cordon-pg': 'pg', 'cordon-2n': '2 nodes', mosquitto: 'mosquitto' };

if (process.env.BENCH_LAT_FILE) global.LATS = [];
function parseArgs(argv) {
  const o = { dur: 10, warm: 2, only: null, cordon: null, mqtt: true, json: null, conns: 10000, targets: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === '--cordon') o.cordon = v();
    else if (a === '--only') o.only = v().split(',');
    else if (a === '--dur') o.dur = Number(v());
    else if (a === '--warm') o.warm = Number(v());
    else if (a === '--no-cordon') o.cordon = null;
    else if (a === '--no-mqtt') o.mqtt = false;
    else if (a === '--json') o.json = v();
    else if (a === '--conns') o.conns = Number(v());
    else if (a === '--targets') o.targets = v().split(',');
    else { console.error('usage: node load.js [--cordon PATH] [--only NAMES] [--dur S] [--warm S] [--no-mqtt] [--json FILE] [--conns N] [--targets sqlite,pg,cluster,mosquitto]'); process.exit(2); }
  }
  if (o.targets && o.targets.some((t) => !ALL_TARGETS.includes(t))) {
    console.error(`--targets: names are ${ALL_TARGETS.join(',')}`);
    process.exit(2);
  }
  return o;
}

function pairs(n, base = 0) {
  const convs = [];
  for (let i = 0; i < n; i++) convs.push([base + 2 * i, base + 2 * i + 1]);
  return convs;
}
function groups(count, size) {
  const convs = [];
  for (let g = 0; g < count; g++) {
    const m = [];
    for (let i = 0; i < size; i++) m.push(g * size + i);
    convs.push(m);
  }
  return convs;
}

// Scenarios: realistic shapes. "window" keeps W messages per conversation in
// flight (a message completes when every other member has it) and measures
// the most the system sustains; "rate" sends at a fixed rate and measures
// latency.
// The saturation scenarios keep enough in flight for each system to reach
// its best rate on this machine (measured: mosquitto peaks with 10 pairs x
// 16 and loses throughput with more queued; cordon commits in batches and
// needs more in flight to fill them). P11/W11 override both.
const WIN11 = { mosquitto: [10, 16], cordon: [20, 64] };
function scenarios(target) {
  const [P11, W11] = process.env.P11 ? [Number(process.env.P11), Number(process.env.W11 || 16)] : WIN11[target] || WIN11.cordon;
  return [
  { name: '1to1-max', desc: `${P11} pairs, ${W11} in flight per pair`, nclients: 2 * P11, convs: pairs(P11), mode: 'window', window: W11 },
  { name: 'fanout100-max', desc: '1 group of 100, 8 in flight', nclients: 100, convs: groups(1, 100), mode: 'window', window: 8 },
  { name: '1to1-5k', desc: '500 pairs, 5,000 msgs/s', nclients: 1000, convs: pairs(500), mode: 'rate', rate: 5000 },
  // a rate every target sustains on this machine, PostgreSQL's included:
  // the cost per 1:1 message without queueing (docs/SCALING.md's sizing)
  { name: '1to1-200', desc: '500 pairs, 200 msgs/s', nclients: 1000, convs: pairs(500), mode: 'rate', rate: 200 },
  { name: 'group50', desc: '20 groups of 50, 200 msgs/s', nclients: 1000, convs: groups(20, 50), mode: 'rate', rate: 200 },
  { name: 'group500', desc: '2 groups of 500, 20 msgs/s', nclients: 1000, convs: groups(2, 500), mode: 'rate', rate: 20 },
  ];
}

async function runScenario(target, sc, opts) {
  await target.setup(sc.nclients, sc.convs);
  const hist = new Hist();
  let measuring = false, stopped = false;
  let sent = 0, acked = 0, delivered = 0, errors = 0, seq = 0, lost = 0;
  const inflight = new Array(sc.convs.length).fill(0);
  const rr = new Array(sc.convs.length).fill(0);
  const pending = new Map(); // seq -> {conv, left}
  const lastProgress = new Array(sc.convs.length).fill(Date.now());

  function sendOne(ci) {
    const members = sc.convs[ci];
    const sender = members[rr[ci]++ % members.length];
    const s = seq++;
    if (sc.mode === 'window') {
      pending.set(s, { conv: ci, left: members.length - 1 });
      inflight[ci]++;
    }
    target.send(sender, ci, makeText(sender, s), s);
    sent++;
  }
  function complete(s) {
    const p = pending.get(s);
    if (!p) return;
    pending.delete(s);
    inflight[p.conv]--;
    lastProgress[p.conv] = Date.now();
    if (!stopped) while (inflight[p.conv] < sc.window) sendOne(p.conv);
  }
  target.onDeliver = (client, ci, text) => {
    const p = typeof text === 'string' ? parseText(text) : parseTextBuf(text);
    if (!p || p.sender === client) return;
    if (measuring) { delivered++; hist.add(nowUs() - p.ts); if (global.LATS) global.LATS.push(p.ts, nowUs() - p.ts); }
    if (sc.mode === 'window') {
      const q = pending.get(p.seq);
      if (q && --q.left === 0) complete(p.seq);
    }
  };
  target.onAck = (ok, s) => {
    if (!measuring) return;
    if (ok) acked++; else errors++;
  };
  target.onError = (s, err) => {
    errors++;
    if (errors <= 3) process.stderr.write(`  error: ${JSON.stringify(err)}\n`);
    if (sc.mode === 'window') complete(s);
  };

  let timer;
  const tStart = Date.now();
  if (sc.mode === 'window') {
    for (let ci = 0; ci < sc.convs.length; ci++) while (inflight[ci] < sc.window) sendOne(ci);
    // a conversation with no progress for 5 s is restarted (lost messages)
    timer = setInterval(() => {
      const now = Date.now();
      for (let ci = 0; ci < sc.convs.length; ci++) {
        if (now - lastProgress[ci] > 1000) {
          for (const [k, v] of pending) if (v.conv === ci) { pending.delete(k); lost++; }
          inflight[ci] = 0; lastProgress[ci] = now;
          if (!stopped) while (inflight[ci] < sc.window) sendOne(ci);
        }
      }
    }, 100);
  } else {
    let conv = 0, done = 0;
    timer = setInterval(() => {
      if (stopped) return;
      const due = Math.floor(((Date.now() - tStart) / 1000) * sc.rate) - done;
      for (let i = 0; i < due; i++) { sendOne(conv); conv = (conv + 1) % sc.convs.length; }
      done += Math.max(0, due);
    }, 2);
  }

  await sleep(opts.warm * 1000);
  const pgc0 = target.pg ? target.pg.counters() : null;
  const acked0 = acked, sent0 = sent, cpu0 = sample(target), gen0 = process.cpuUsage(), t0 = nowUs();
  // The load generator's own stalls (its event loop's lag, its GC pauses)
  // add to every latency it measures: reported so that a tail can be told
  // apart from the server's.
  const lag = monitorEventLoopDelay({ resolution: 1 });
  let gcMax = 0;
  // With BENCH_LAT_FILE, each GC's start (on nowUs()'s clock) and length
  // in µs go to BENCH_LAT_FILE.gc.<target>, to set beside the latencies.
  const gcs = [], perfOrigin = performance.now() * 1000 - nowUs();
  const gcObs = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      gcMax = Math.max(gcMax, e.duration);
      if (global.LATS) gcs.push(`${Math.round(e.startTime * 1000 - perfOrigin)} ${Math.round(e.duration * 1000)} ${e.detail ? e.detail.kind : ''}`);
    }
  });
  lag.enable();
  gcObs.observe({ entryTypes: ['gc'] });
  const stages0 = target.stages ? await target.stages() : null;
  measuring = true;
  // PostgreSQL's busy backends sampled every 250 ms: working or waiting, on what
  const pgWaits = {};
  let pgSamples = 0, pgBusy = false;
  const pgTimer = target.pg ? setInterval(() => {
    if (pgBusy) return;
    pgBusy = true;
    target.pg.waits().then((m) => {
      pgBusy = false;
      if (!measuring) return;
      pgSamples++;
      for (const [k, n] of Object.entries(m)) pgWaits[k] = (pgWaits[k] || 0) + n;
    });
  }, 250) : null;
  // For a profiler to attach to the server for the measured window only:
  // BENCH_MEASURING_FILE gets "scenario target pid" now and is removed at
  // the window's end.
  const mark = process.env.BENCH_MEASURING_FILE;
  if (mark) fs.writeFileSync(mark, `${sc.name} ${target.name} ${target.pid || ''}\n`);
  await sleep(opts.dur * 1000);
  if (mark) fs.rmSync(mark, { force: true });
  if (global.LATS) { fs.writeFileSync(process.env.BENCH_LAT_FILE + '.' + target.name, 'T0 ' + String(process.hrtime.bigint() / 1000n - BigInt(nowUs())) + '\n' + global.LATS.join('\n')); global.LATS = []; fs.writeFileSync(process.env.BENCH_LAT_FILE + '.gc.' + target.name, gcs.join('\n') + '\n'); }
  measuring = false;
  if (pgTimer) clearInterval(pgTimer);
  lag.disable();
  gcObs.disconnect();
  const secs = (nowUs() - t0) / 1e6;
  const cpu1 = sample(target), gen1 = process.cpuUsage(gen0);
  const stages1 = stages0 ? await target.stages() : null;
  const sentN = sent - sent0;
  stopped = true;
  clearInterval(timer);
  const mems = target.memNodes();
  const mem = { rss: mems.reduce((a, m) => a + m.rss, 0), hwm: mems.reduce((a, m) => a + m.hwm, 0) };
  const infraMem = { pg_rss_mb: target.pg ? target.pg.mem() : undefined, redis_rss_mb: target.redis ? target.redis.mem() : undefined };
  await sleep(500);
  await target.teardown();
  // the backends' last counts reach pg_stat_database within a second
  let pgc1 = null;
  if (pgc0) { await sleep(1100); pgc1 = target.pg.counters(); }
  const r = {
    scenario: sc.name,
    target: target.name,
    sent_per_s: sentN / secs,
    msgs_per_s: (target.acks ? acked : delivered / (avgMembers(sc) - 1)) / secs,
    deliveries_per_s: delivered / secs,
    complete_msgs_per_s: delivered / secs / (avgMembers(sc) - 1),
    p50_ms: hist.pct(50) / 1000,
    p99_ms: hist.pct(99) / 1000,
    server_cpu: (cpu1.node - cpu0.node) / secs,
    loadgen_cpu: (gen1.user + gen1.system) / 1e6 / secs,
    // the timer's own 1 ms resolution is part of the figure
    loadgen_lag_p99_ms: lag.percentile(99) / 1e6,
    loadgen_gc_max_ms: gcMax,
    rss_mb: mem.rss,
    hwm_mb: mem.hwm,
    errors,
    lost,
  };
  // every process of the system in cores and, per message, in CPU-µs
  const msgs = (target.acks ? acked - acked0 : delivered / (avgMembers(sc) - 1)) || NaN;
  Object.assign(r, costs(cpu0, cpu1, secs, msgs, delivered), infraMem);
  if (stages0 && stages1) r.stages_ms = stageQuantiles(stages0, stages1);
  if (r.stages_ms && Object.keys(r.stages_ms).length) {
    process.stderr.write('  where a message waits (p50/p99/count in the window): ' +
      Object.entries(r.stages_ms).map(([k, v]) => `${k} ${fmtQ(v.p50)}/${fmtQ(v.p99)}/${v.n}`).join(', ') + '\n');
  }
  if (pgSamples) {
    // backends busy on average, by what they were doing
    r.pg_active = Object.fromEntries(Object.entries(pgWaits).sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, n / pgSamples]));
    // backends waiting on a lock (a row's, a transaction's), on average
    r.pg_lock_waits = Object.entries(pgWaits).filter(([k]) => k.startsWith('Lock:')).reduce((a, [, n]) => a + n, 0) / pgSamples;
  }
  if (pgc0 && pgc1) {
    // deadlocks PostgreSQL broke (each cost deadlock_timeout and a batch's
    // retry) and WAL syncs, from the measured window to the teardown
    r.pg_deadlocks = pgc1.deadlocks - pgc0.deadlocks;
    r.pg_wal_syncs_per_s = (pgc1.walSyncs - pgc0.walSyncs) / secs;
  }
  if (mems.length > 1) {
    r.node_rss_mb = mems.map((m) => m.rss);
    r.node_cpu = cpu1.nodes.map((n, k) => (n.total - cpu0.nodes[k].total) / secs);
  }
  return r;
}

// p50 and p99 (ms) of each server histogram over the measured window: the
// difference of two scrapes, interpolated linearly inside a bucket (as
// Prometheus' histogram_quantile does); Infinity when above the last bound.
function stageQuantiles(h0, h1) {
  const out = {};
  for (const [k, b] of Object.entries(h1)) {
    const a = h0[k];
    const cum = b.cum.map((c, i) => c - (a ? a.cum[i] : 0));
    const n = cum[cum.length - 1];
    if (!n) continue;
    const q = (p) => {
      const want = p * n;
      for (let i = 0; i < cum.length; i++) {
        if (cum[i] < want) continue;
        if (b.bounds[i] === Infinity) return Infinity;
        const lo = i ? b.bounds[i - 1] : 0, below = i ? cum[i - 1] : 0;
        return 1000 * (lo + (b.bounds[i] - lo) * ((want - below) / (cum[i] - below || 1)));
      }
      return NaN;
    };
    out[k] = { p50: q(0.5), p99: q(0.99), n };
  }
  return out;
}
const fmtQ = (v) => (v === Infinity ? '>1000' : v.toFixed(2));

// CPU seconds so far of the target's nodes (whole and by part), of its
// PostgreSQL and Redis, and the bytes through Redis.
function sample(target) {
  const nodes = target.cpuNodes();
  return {
    nodes,
    node: nodes.reduce((a, n) => a + n.total, 0),
    pg: target.pg ? target.pg.cpu() : NaN,
    redis: target.redis ? target.redis.cpu() : NaN,
    net: target.redis ? target.redis.net() : null,
  };
}

function costs(c0, c1, secs, msgs, delivered) {
  const us = (a, b) => ((b - a) * 1e6) / msgs;
  const o = { us_per_msg: {} };
  const u = o.us_per_msg;
  if (c1.nodes[0].parts) {
    for (const part of Object.keys(c1.nodes[0].parts)) {
      u[part] = c1.nodes.reduce((a, n, k) => a + us(c0.nodes[k].parts[part], n.parts[part]), 0);
    }
  }
  u.node = us(c0.node, c1.node);
  if (!Number.isNaN(c1.pg)) { u.pg = us(c0.pg, c1.pg); o.pg_cpu = (c1.pg - c0.pg) / secs; }
  if (!Number.isNaN(c1.redis)) { u.redis = us(c0.redis, c1.redis); o.redis_cpu = (c1.redis - c0.redis) / secs; }
  u.total = u.node + (u.pg || 0) + (u.redis || 0);
  if (delivered) u.node_per_delivery = ((c1.node - c0.node) * 1e6) / delivered;
  if (c1.net && c0.net) {
    o.redis_bytes_in_per_msg = (c1.net.in - c0.net.in) / msgs;
    o.redis_bytes_out_per_msg = (c1.net.out - c0.net.out) / msgs;
  }
  return o;
}
function avgMembers(sc) {
  return sc.convs.reduce((a, m) => a + m.length, 0) / sc.convs.length;
}

async function runConns(target, n) {
  const sum = (ms, k) => ms.reduce((a, m) => a + m[k], 0);
  const before = sum(target.memNodes(), 'rss');
  const t0 = Date.now();
  await target.connectOnly(n);
  const secs = (Date.now() - t0) / 1000;
  await sleep(2000);
  const mems = target.memNodes();
  const r = { scenario: 'conn10k', target: target.name, connections: n, connect_s: secs,
              rss_before_mb: before, rss_mb: sum(mems, 'rss'), hwm_mb: sum(mems, 'hwm') };
  if (mems.length > 1) r.node_rss_mb = mems.map((m) => m.rss);
  await target.teardown();
  return r;
}

function fmt(v, d = 0) {
  if (typeof v !== 'number' || Number.isNaN(v)) return '-';
  return v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

function table(results) {
  const by = {};
  for (const r of results) (by[r.scenario] ||= {})[r.target] = r;
  const figs = [
    ['msgs_per_s', 'msgs/s', 0], ['deliveries_per_s', 'deliveries/s', 0],
    ['p50_ms', 'p50 ms', 2], ['p99_ms', 'p99 ms', 2],
    ['server_cpu', 'server CPU (cores)', 2], ['pg_cpu', 'PostgreSQL CPU (cores)', 2],
    ['redis_cpu', 'Redis CPU (cores)', 2], ['loadgen_cpu', 'loadgen CPU (cores)', 2],
    ['loadgen_lag_p99_ms', 'loadgen lag p99 ms', 1], ['loadgen_gc_max_ms', 'loadgen GC max ms', 1],
    ['pg_wal_syncs_per_s', 'PostgreSQL WAL syncs/s', 0], ['pg_lock_waits', 'PG backends on Lock', 2],
    ['pg_deadlocks', 'PostgreSQL deadlocks', 0],
    ['rss_mb', 'server RSS MB', 1], ['hwm_mb', 'server VmHWM MB', 1],
    ['pg_rss_mb', 'PostgreSQL RSS MB', 1], ['redis_rss_mb', 'Redis RSS MB', 1],
    ['connect_s', 'connect time s', 1], ['errors', 'errors', 0],
  ];
  const targets = [...new Set(results.map((r) => r.target))].sort((a, b) => Object.keys(LABEL).indexOf(a) - Object.keys(LABEL).indexOf(b));
  const cordons = targets.filter((t) => t !== 'mosquitto');
  const ratioCols = targets.includes('mosquitto') ? cordons : [];
  const cols = ['scenario', 'figure', ...targets.map((t) => LABEL[t] || t), ...ratioCols.map((t) => `${LABEL[t] || t}/mq`)];
  const w = cols.map((c, i) => (i === 0 ? 15 : i === 1 ? 24 : Math.max(11, c.length + 2)));
  const line = (cells) => console.log(cells.map((x, i) => String(x).padEnd(w[i])).join(''));
  console.log('');
  line(cols);
  for (const sc of Object.keys(by)) {
    const m = by[sc].mosquitto || {};
    for (const [k, label, d] of figs) {
      if (!targets.some((t) => by[sc][t] && typeof by[sc][t][k] === 'number')) continue;
      const v = targets.map((t) => fmt((by[sc][t] || {})[k], d));
      const ratios = ratioCols.map((t) => {
        const c = (by[sc][t] || {})[k];
        return typeof c === 'number' && typeof m[k] === 'number' && m[k] ? fmt(c / m[k], 2) : '-';
      });
      line([sc, label, ...v, ...ratios]);
    }
  }
  // the cost of each part per message (CPU-µs), cordon's targets only
  const parts = [['loop', 'node: event loop'], ['workers', 'node: workers (guard, plan)'], ['writer', 'node: writer'],
    ['bus', 'node: bus threads'], ['other', 'node: other threads'], ['node', 'node: all'],
    ['pg', 'PostgreSQL'], ['redis', 'Redis'], ['total', 'all parts'], ['node_per_delivery', 'node per delivery']];
  const costRows = [];
  for (const sc of Object.keys(by)) {
    for (const [k, label] of parts) {
      const v = cordons.map((t) => (by[sc][t] && by[sc][t].us_per_msg ? by[sc][t].us_per_msg[k] : undefined));
      if (v.every((x) => typeof x !== 'number')) continue;
      costRows.push([sc, label, ...v.map((x) => fmt(x, 1))]);
    }
    const acts = cordons.map((t) => (by[sc][t] && by[sc][t].pg_active ? Object.entries(by[sc][t].pg_active).slice(0, 2).map(([k, n]) => `${k} ${fmt(n, 1)}`).join(', ') : '-'));
    if (acts.some((x) => x !== '-')) costRows.push([sc, 'PostgreSQL backends busy on', ...acts]);
    const b = by[sc]['cordon-2n'];
    if (b && typeof b.redis_bytes_out_per_msg === 'number') {
      costRows.push([sc, 'Redis bytes in/out', ...cordons.map((t) => (t === 'cordon-2n' ? `${fmt(b.redis_bytes_in_per_msg)}/${fmt(b.redis_bytes_out_per_msg)}` : '-'))]);
    }
  }
  if (costRows.length) {
    console.log('\nCPU-µs per message (a message = one acknowledged send)');
    const cw = [15, 30, ...cordons.map(() => 14)];
    const cl = (cells) => console.log(cells.map((x, i) => String(x).padEnd(cw[i])).join(''));
    cl(['scenario', 'part', ...cordons.map((t) => LABEL[t] || t)]);
    for (const row of costRows) cl(row);
  }
  return by;
}

function verdicts(by) {
  const out = [];
  const chk = (name, ok, detail) => out.push(`${ok === null ? 'N/A ' : ok ? 'PASS' : 'MISS'}  ${name}: ${detail}`);
  const g = (s, t, k) => (by[s] && by[s][t] ? by[s][t][k] : NaN);
  let c = g('1to1-max', 'cordon', 'msgs_per_s'), m = g('1to1-max', 'mosquitto', 'msgs_per_s');
  chk('1:1 msgs/s >= 30% of mosquitto', isNaN(c) || isNaN(m) ? null : c / m >= 0.30, `${fmt(c)} vs ${fmt(m)} (${fmt(100 * c / m, 1)}%)`);
  c = g('fanout100-max', 'cordon', 'deliveries_per_s'); m = g('fanout100-max', 'mosquitto', 'deliveries_per_s');
  chk('fan-out 100 deliveries/s >= 50% of mosquitto', isNaN(c) || isNaN(m) ? null : c / m >= 0.50, `${fmt(c)} vs ${fmt(m)} (${fmt(100 * c / m, 1)}%)`);
  const p99 = g('1to1-5k', 'cordon', 'p99_ms'), rate = g('1to1-5k', 'cordon', 'msgs_per_s');
  chk('p99 <= 10 ms at 5,000 msgs/s', isNaN(p99) ? null : p99 <= 10 && rate >= 4750, `p99 ${fmt(p99, 2)} ms at ${fmt(rate)} msgs/s`);
  const rss = g('conn10k', 'cordon', 'rss_mb'), n = g('conn10k', 'cordon', 'connections');
  chk('10k connections, RSS <= 300 MB', isNaN(rss) ? null : rss <= 300 && n >= 10000, `${fmt(n)} connections, RSS ${fmt(rss, 1)} MB`);
  console.log('\n' + out.join('\n'));
  return out;
}

// The disk as a durable commit meets it: fdatasync after overwriting 64 KiB
// of a preallocated file in the temp directory the servers' data lives in
// (a write-ahead log is overwritten in place the same way), every 2 ms for
// about a second. cordon acknowledges a message only after such a sync, so
// its delivery p99 can be no better than this p99 allows: printed next to
// the results so that a slow disk is told apart from a slow server.
function diskProbe(n = 300) {
  const path = require('node:path');
  const f = path.join(os.tmpdir(), `cordon-bench-fsync-${process.pid}`);
  const size = 16 << 20, chunk = Buffer.alloc(64 << 10, 0x5a);
  const fd = fs.openSync(f, 'w+');
  const t = [];
  try {
    for (let off = 0; off < size; off += chunk.length) fs.writeSync(fd, chunk, 0, chunk.length, off);
    fs.fsyncSync(fd);
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < n; i++) {
      fs.writeSync(fd, chunk, 0, chunk.length, (i * chunk.length) % size);
      const t0 = process.hrtime.bigint();
      fs.fdatasyncSync(fd);
      t.push(Number(process.hrtime.bigint() - t0) / 1e6);
      Atomics.wait(nap, 0, 0, 2);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(f, { force: true });
  }
  t.sort((a, b) => a - b);
  return { p50: t[Math.floor(n * 0.5)], p99: t[Math.floor(n * 0.99)], max: t[n - 1] };
}
const fmtDisk = (d) => `${d.p50.toFixed(1)}/${d.p99.toFixed(1)} ms (max ${d.max.toFixed(1)})`;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const la0 = os.loadavg()[0];
  const disk0 = diskProbe();
  const targets = [];
  const chosen = opts.targets || ALL_TARGETS;
  const infra = {};
  // PostgreSQL and Redis are daemons: stopped however this process ends
  // (an uncaught error, Ctrl-C), not only after the last scenario
  process.on('exit', () => {
    if (infra.redis) infra.redis.stop();
    if (infra.pg) infra.pg.stop();
    if (infra.shared) fs.rmSync(infra.shared, { recursive: true, force: true });
  });
  const pgInstalled = ['17', '16', '15'].some((v) => fs.existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));
  const redisInstalled = ['/usr/bin/redis-server', '/usr/sbin/redis-server'].some((p) => fs.existsSync(p));
  if (opts.cordon) {
    const { CordonTarget } = require('./cordon_target.js');
    if (chosen.includes('sqlite')) targets.push(new CordonTarget({ cordon: opts.cordon }));
    const pgWanted = chosen.includes('pg') || chosen.includes('cluster');
    if (pgWanted && !pgInstalled) process.stderr.write('PostgreSQL is not installed: no pg or cluster target (scripts/install-deps.sh)\n');
    if (chosen.includes('cluster') && !redisInstalled) process.stderr.write('redis-server is not installed: no cluster target\n');
    try {
      if (pgWanted && pgInstalled) infra.pg = Postgres.start();
      if (chosen.includes('cluster') && infra.pg && redisInstalled) infra.redis = Redis.start();
    } catch (e) { process.stderr.write(`could not start PostgreSQL/Redis: ${e.message}\n`); }
    if (chosen.includes('pg') && infra.pg) {
      const t = new CordonTarget({ cordon: opts.cordon, name: 'cordon-pg', store: infra.pg.database('cordon_bench_pg') });
      t.pg = infra.pg;
      targets.push(t);
    }
    if (chosen.includes('cluster') && infra.pg && infra.redis) {
      infra.shared = fs.mkdtempSync(require('node:path').join(os.tmpdir(), 'cordon-bench-shared-'));
      const t = new CordonTarget({ cordon: opts.cordon, name: 'cordon-2n', nodes: 2, store: infra.pg.database('cordon_bench_2n'),
        bus: infra.redis.url, blobDir: require('node:path').join(infra.shared, 'blobs') });
      Object.assign(t, { pg: infra.pg, redis: infra.redis });
      targets.push(t);
    }
  }
  if (opts.mqtt && chosen.includes('mosquitto')) targets.push(new MqttTarget({}));
  const results = [];
  const want = (n) => !opts.only || opts.only.includes(n);
  // Both servers run side by side (an idle one costs nothing) and every
  // scenario runs on one right after the other, so that a change in the
  // machine's load hits both figures of a ratio alike.
  const up = [];
  for (const t of targets) {
    try { await t.start(); up.push(t); } catch (e) { process.stderr.write(`${t.name}: could not start: ${e.stack || e}\n`); }
  }
  const names = scenarios('cordon').map((sc) => sc.name);
  try {
    for (const name of names) {
      if (!want(name)) continue;
      for (const t of up) {
        const sc = scenarios(t.name).find((x) => x.name === name);
        process.stderr.write(`${t.name}: ${sc.name} (${sc.desc})...\n`);
        try {
          const r = await runScenario(t, sc, opts);
          results.push(r);
          process.stderr.write(`  ${JSON.stringify(r)}\n`);
        } catch (e) {
          process.stderr.write(`  failed: ${e.stack || e}\n`);
          await t.teardown().catch(() => {});
        }
      }
    }
    if (want('conn10k')) {
      for (const t of up) {
        process.stderr.write(`${t.name}: conn10k (${opts.conns} idle connections)...\n`);
        try {
          const r = await runConns(t, opts.conns);
          results.push(r);
          process.stderr.write(`  ${JSON.stringify(r)}\n`);
        } catch (e) {
          process.stderr.write(`  failed: ${e.stack || e}\n`);
          await t.teardown().catch(() => {});
        }
      }
    }
  } finally {
    for (const t of up) await t.stop().catch(() => {});
    if (infra.redis) infra.redis.stop();
    if (infra.pg) infra.pg.stop();
    if (infra.shared) fs.rmSync(infra.shared, { recursive: true, force: true });
  }
  const by = table(results);
  const la = [la0, os.loadavg()[0]];
  console.log(`\nmachine: ${os.cpus().length} CPUs, load average ${la[0].toFixed(2)} before, ${la[1].toFixed(2)} after` +
    (Math.max(...la) > 1.5 ? ' -- NOT QUIET: other processes competed for the CPUs, figures are low' : ''));
  const disk = [disk0, diskProbe()];
  console.log(`disk: fdatasync of 64 KiB p50/p99 ${fmtDisk(disk[0])} before, ${fmtDisk(disk[1])} after` +
    (Math.max(disk[0].p99, disk[1].p99) > 5 ? ' -- SLOW DISK: a p99 of delivery above 10 ms may be the disk\'s' : ''));
  const v = verdicts(by);
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ results, verdicts: v, loadavg: la, disk_fdatasync_ms: disk }, null, 2) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
