'use strict';
// What the cluster scenarios of the load bench stand on (docs/BENCH.md,
// "Server load", "Several nodes"): a throwaway PostgreSQL cluster and a
// throwaway Redis, started by the project's own scripts in temp directories
// (never the machine's services) and torn down at the end; and how their
// CPU and traffic are read for the cost per message.
//
// PostgreSQL runs with its durable defaults (PG_DURABLE=1: fsync and
// synchronous_commit on), as SQLite syncs each of cordon's commits: the
// figures compare stores that keep what they acknowledged.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync, execFile } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const TICK = 100; // USER_HZ

function sh(script, args, env = {}) {
  const r = spawnSync('sh', [path.join(ROOT, 'scripts', script), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

// utime+stime (seconds) of pid and every process whose parent is pid:
// PostgreSQL's postmaster, its backends (one per connection, alive for the
// whole run) and its background workers.
function treeCpu(pid) {
  let total = 0;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let s;
    try { s = fs.readFileSync(`/proc/${d}/stat`, 'utf8'); } catch { continue; }
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    if (Number(d) === pid || Number(f[1]) === pid) total += (Number(f[11]) + Number(f[12])) / TICK;
  }
  return total;
}

// Resident set of the same tree: the postmaster's shared buffers are counted
// once (the largest RSS) plus each other process' private part (RssAnon).
function treeMem(pid) {
  let anon = 0, maxRss = 0;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let st, status;
    try {
      st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(d) !== pid && Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
      status = fs.readFileSync(`/proc/${d}/status`, 'utf8');
    } catch { continue; }
    const rss = /VmRSS:\s+(\d+)/.exec(status), an = /RssAnon:\s+(\d+)/.exec(status);
    if (rss) maxRss = Math.max(maxRss, Number(rss[1]) / 1024);
    if (an) anon += Number(an[1]) / 1024;
  }
  return maxRss + anon;
}

class Postgres {
  static start() {
    const p = new Postgres();
    p.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-bench-pg-'));
    p.url = sh('pg-test-server.sh', ['start', p.dir], { PG_DURABLE: '1' });
    p.pid = Number(fs.readFileSync(path.join(p.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    p.dbs = [];
    return p;
  }

  // A fresh database on the cluster: its URL.
  database(name) {
    const r = spawnSync('psql', [this.url, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`,
      '-c', `CREATE DATABASE ${name}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
    this.dbs.push(name);
    const m = /^(postgres(?:ql)?:\/\/[^/]*\/)([^?]*)(.*)$/.exec(this.url);
    return m[1] + name + m[3];
  }

  cpu() { return treeCpu(this.pid); }
  mem() { return treeMem(this.pid); }

  // What PostgreSQL's busy backends are doing or waiting on right now
  // ("CPU" when on a core, else wait_event_type:wait_event), counted; read
  // without blocking the load generator.
  waits() {
    const q = "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'), count(*) FROM pg_stat_activity " +
      "WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1";
    return new Promise((resolve) => {
      execFile('psql', [this.url, '-qAtF', '\t', '-c', q], { encoding: 'utf8', timeout: 5000 }, (err, out) => {
        const m = {};
        if (!err) for (const l of out.split('\n')) { const [k, n] = l.split('\t'); if (k) m[k] = Number(n); }
        resolve(m);
      });
    });
  }

  // Counters of the whole cluster so far: deadlocks PostgreSQL broke
  // (pg_stat_database, every database) and WAL syncs (pg_stat_wal: the
  // fsyncs commits waited on; fewer for as many messages = more shared). Read
  // before and after a scenario's measured window; a backend reports its
  // counts when its transaction ends, at most once a second, hence the
  // pause before the second reading (load.js).
  counters() {
    const r = spawnSync('psql', [this.url, '-qAtF', '\t', '-c',
      'SELECT (SELECT coalesce(sum(deadlocks), 0) FROM pg_stat_database), (SELECT wal_sync FROM pg_stat_wal)'], { encoding: 'utf8', timeout: 10000 });
    const [d, c] = (r.status === 0 ? r.stdout.trim() : '').split('\t');
    return { deadlocks: Number(d), walSyncs: Number(c) };
  }

  stop() {
    if (!this.dir) return;
    try { sh('pg-test-server.sh', ['stop', this.dir]); } catch (e) { process.stderr.write(`${e.message}\n`); }
    fs.rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

class Redis {
  static start() {
    const r = new Redis();
    const [port, dir, pid] = sh('redis-test-server.sh', ['start']).split(/\s+/);
    Object.assign(r, { port: Number(port), dir, pid: Number(pid), url: `redis://127.0.0.1:${port}` });
    return r;
  }

  cpu() { return treeCpu(this.pid); }
  mem() { return treeMem(this.pid); }

  // Bytes Redis read from and wrote to its clients so far (INFO stats).
  net() {
    const out = spawnSync('redis-cli', ['-p', String(this.port), 'info', 'stats'], { encoding: 'utf8' }).stdout || '';
    const g = (k) => Number((new RegExp(`^${k}:(\\d+)`, 'm').exec(out) || [])[1]);
    return { in: g('total_net_input_bytes'), out: g('total_net_output_bytes') };
  }

  stop() {
    if (!this.dir) return;
    try { sh('redis-test-server.sh', ['stop', this.dir]); } catch (e) { process.stderr.write(`${e.message}\n`); }
    this.dir = null;
  }
}

module.exports = { Postgres, Redis, treeCpu };
