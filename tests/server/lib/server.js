'use strict';
// Starts and stops a real `cordon serve` for the integration tests and the
// load bench. No npm dependency here (the bench reuses this file).
//
//   const srv = await Server.start({ policy: 'file.yaml', config: {limits: {...}} });
//   srv.base, srv.port, srv.pid, srv.adminPassword, srv.dataDir, srv.log()
//   await srv.stop()            SIGTERM, waits, returns {code, signal}
//   srv.kill9()                 SIGKILL, waits
//   await srv.restart()         same data dir, new port
//
// The path of `cordon` comes from $CORDON (meson passes it) or
// build/src/tool/cordon. $CORDON_TEST_SLOW (a factor, default 1; the
// sanitized build sets 4) stretches every timeout. $CORDON_TEST_STORE_PG (a
// PostgreSQL URL; tests/server/run-pg.sh sets it) gives each server a fresh
// database on that cluster instead of SQLite in its data dir: `--store` for
// the server, CORDON_STORE for the CLI; srv.sql(query) reads either store.
// $CORDON_TEST_BUS (a redis:// URL) puts every server on that Redis bus
// unless its config names a bus: the whole suite can run on the bus between
// nodes.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SLOW = Number(process.env.CORDON_TEST_SLOW || 1);
const live = new Set();

function cordonPath() {
  const p = process.env.CORDON || path.join(ROOT, 'build', 'src', 'tool', 'cordon');
  if (!fs.existsSync(p)) throw new Error(`cordon not found at ${p} (set $CORDON)`);
  return p;
}

// A tiny YAML emitter for the config: nested maps, lists and scalars.
function toYaml(v, indent = '') {
  if (Array.isArray(v)) {
    return v.map((x) => `${indent}- ${typeof x === 'object' ? '\n' + toYaml(x, indent + '  ') : scalar(x)}`).join('\n');
  }
  return Object.entries(v)
    .map(([k, x]) => (x !== null && typeof x === 'object'
      ? `${indent}${k}:\n${toYaml(x, indent + '  ')}`
      : `${indent}${k}: ${scalar(x)}`))
    .join('\n');
}
function scalar(x) {
  if (typeof x === 'string') return JSON.stringify(x);
  return String(x);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A fresh database on the cluster $CORDON_TEST_STORE_PG names: its URL.
let pgSeq = 0;
function pgDatabase(base) {
  const name = `cordon_srv_${process.pid}_${++pgSeq}`;
  const r = spawnSync('psql', [base, '-v', 'ON_ERROR_STOP=1', '-q',
    '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, '-c', `CREATE DATABASE ${name}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  const m = /^(postgres(?:ql)?:\/\/[^/]*\/)([^?]*)(.*)$/.exec(base);
  if (!m) throw new Error(`CORDON_TEST_STORE_PG: not a postgresql:// URL: ${base}`);
  return { name, url: m[1] + name + m[3] };
}

// Resolves with the promise's value, or with `fallback` after ms; the timer
// never keeps the process alive.
function within(promise, ms, fallback = null) {
  let t;
  const timer = new Promise((r) => { t = setTimeout(() => r(fallback), ms); });
  return Promise.race([promise, timer]).finally(() => clearTimeout(t));
}

class Server {
  constructor(opts) {
    this.opts = opts;
    this.cordon = opts.cordon || cordonPath();
    this.dataDir = opts.dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-test-'));
    this.ownDir = !opts.dataDir;
    this.logLines = [];
    // the first lines of each stream, apart (what went to the log, stderr)
    this.streamLines = { stdout: [], stderr: [] };
    this.adminPassword = null;
    this.pg = !opts.dataDir && process.env.CORDON_TEST_STORE_PG
      ? pgDatabase(process.env.CORDON_TEST_STORE_PG) : null;
    this.storeUrl = this.pg ? this.pg.url : null;
  }

  static async start(opts = {}) {
    const s = new Server(opts);
    await s._spawn();
    return s;
  }

  _args() {
    const args = ['serve', '--listen', '127.0.0.1:0', '--data', path.join(this.dataDir, 'data'),
      '--admin-password-file', path.join(this.dataDir, 'admin.pw')];
    let config = this.opts.config;
    if (process.env.CORDON_TEST_BUS && !(config && config.bus)) config = { ...(config || {}), bus: process.env.CORDON_TEST_BUS };
    if (config) {
      const f = path.join(this.dataDir, 'cordon.yaml');
      fs.writeFileSync(f, toYaml(config) + '\n');
      args.push('--config', f);
    }
    if (this.storeUrl) args.push('--store', this.storeUrl);
    if (this.opts.policy) args.push('--policy', this.opts.policy);
    if (this.opts.logLevel) args.push('--log-level', this.opts.logLevel);
    // argon2id at its cheapest: hundreds of logins per test run (never in production)
    if (this.opts.fastHash !== false) args.push('--insecure-fast-hash');
    return args.concat(this.opts.args || []);
  }

  async _spawn() {
    fs.mkdirSync(path.join(this.dataDir, 'data'), { recursive: true });
    const proc = spawn(this.cordon, this._args(), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CORDON_TEST_FAST_HASH: '1', ...(this.opts.env || {}) },
    });
    this.proc = proc;
    this.pid = proc.pid;
    live.add(proc);
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    }));
    const logFile = fs.createWriteStream(path.join(this.dataDir, 'server.log'), { flags: 'a' });
    let listening;
    const ready = new Promise((resolve) => { listening = resolve; });
    const onLine = (line, name) => {
      if (this.streamLines[name].length < 500) this.streamLines[name].push(line);
      this.logLines.push(line);
      if (this.logLines.length > 2000) this.logLines.splice(0, 1000);
      let m = /cordon: listening on (https?):\/\/([^:/\s]+):(\d+)/.exec(line);
      if (m) listening({ scheme: m[1], host: m[2], port: Number(m[3]) });
      m = /cordon: bootstrap admin login=(\S+) password=(\S+)/.exec(line);
      if (m) { this.adminLogin = m[1]; this.adminPassword = m[2]; }
    };
    for (const [name, stream] of [['stdout', proc.stdout], ['stderr', proc.stderr]]) {
      let buf = '';
      stream.on('data', (d) => {
        logFile.write(d);
        buf += d.toString('utf8');
        let i;
        while ((i = buf.indexOf('\n')) >= 0) { onLine(buf.slice(0, i), name); buf = buf.slice(i + 1); }
      });
    }
    const r = await within(Promise.race([ready, this.exited.then((e) => ({ exit: e }))]), 60000 * SLOW, 'timeout');
    if (r === 'timeout' || r.exit) {
      this.proc.kill('SIGKILL');
      throw new Error(`cordon serve did not start (${r === 'timeout' ? 'timeout' : JSON.stringify(r.exit)}):\n${this.log(40)}`);
    }
    this.port = r.port;
    this.base = `${r.scheme}://${r.host}:${r.port}`;
    this.wsBase = this.base.replace(/^http/, 'ws');
    const pwFile = path.join(this.dataDir, 'admin.pw');
    if (!this.adminPassword && fs.existsSync(pwFile)) this.adminPassword = fs.readFileSync(pwFile, 'utf8').trim();
    // answers?
    for (let i = 0; ; i++) {
      try {
        const res = await fetch(this.base + '/api/v1/health');
        if (res.ok) break;
      } catch (e) {
        if (i > 100) throw e;
      }
      await sleep(50);
    }
  }

  log(n = 60) { return this.logLines.slice(-n).join('\n'); }

  get running() { return this.proc && this.proc.exitCode === null && this.proc.signalCode === null; }

  async stop(signal = 'SIGTERM', timeoutMs = 20000 * SLOW) {
    if (!this.running) return this.exited;
    this.proc.kill(signal);
    const r = await within(this.exited, timeoutMs);
    if (r) return r;
    this.proc.kill('SIGKILL');
    const e = await this.exited;
    return { ...e, timedOut: true };
  }

  async kill9() { return this.stop('SIGKILL'); }

  async restart() {
    if (this.running) await this.stop();
    this.logLines.push('---- restart ----');
    await this._spawn();
  }

  // Runs `cordon ARGS...` (e.g. ['audit', 'verify', '--data', dir]) and
  // returns {status, stdout, stderr}.
  cliEnv() { return this.storeUrl ? { ...process.env, CORDON_STORE: this.storeUrl } : process.env; }

  cli(args) {
    const r = spawnSync(this.cordon, args, { encoding: 'utf8', timeout: 60000 * SLOW, env: this.cliEnv() });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  // The same without blocking Node's event loop, so that a load from this
  // process goes on while the command runs. Resolves {status, stdout, stderr}.
  cliAsync(args) {
    return new Promise((resolve) => {
      const p = spawn(this.cordon, args, { stdio: ['ignore', 'pipe', 'pipe'], env: this.cliEnv() });
      let stdout = '', stderr = '';
      p.stdout.on('data', (d) => { stdout += d; });
      p.stderr.on('data', (d) => { stderr += d; });
      p.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  }

  get storeDir() { return path.join(this.dataDir, 'data'); }

  // The first column of a query's rows on the server's store, one per
  // line (sqlite3 or psql, whichever holds it).
  sql(query) {
    const r = this.storeUrl
      ? spawnSync('psql', [this.storeUrl, '-Atqc', query], { encoding: 'utf8' })
      : spawnSync('sqlite3', [path.join(this.storeDir, 'cordon.db'), query], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${this.storeUrl ? 'psql' : 'sqlite3'}: ${r.stderr}`);
    return r.stdout.trim();
  }

  // Where the store still holds a text (the "gone" checks of recall, burn,
  // containment): on SQLite every file of the store's directory whose
  // bytes contain it (database, write-ahead log, free pages); on
  // PostgreSQL every table with a row containing it (the cluster's files
  // are not the node's, and dead row versions are VACUUM's business:
  // docs/STORE.md, "PostgreSQL"). [] when nowhere.
  storedIn(needle) {
    if (!this.storeUrl) return filesContaining(this.storeDir, Buffer.from(needle));
    const lit = `'${String(needle).replace(/'/g, "''")}'`;
    const union = this.sql("SELECT string_agg(format('SELECT %L FROM %I t WHERE strpos(t::text, " +
      `${lit.replace(/'/g, "''")}) > 0', relname, relname), ' UNION ' ORDER BY relname) ` +
      "FROM pg_stat_user_tables WHERE schemaname = 'public'");
    return union ? this.sql(union).split('\n').filter((x) => x) : [];
  }

  // Stops the server and removes its temp dir (kept when KEEP_TEST_DATA=1).
  async dispose() {
    await this.stop();
    if (this.ownDir && !process.env.KEEP_TEST_DATA) fs.rmSync(this.dataDir, { recursive: true, force: true });
    if (this.pg && !process.env.KEEP_TEST_DATA) {
      spawnSync('psql', [process.env.CORDON_TEST_STORE_PG, '-qc',
        `DROP DATABASE IF EXISTS ${this.pg.name} WITH (FORCE)`], { encoding: 'utf8' });
    }
  }
}

// Every file under dir whose bytes contain needle (a Buffer).
function filesContaining(dir, needle) {
  const hits = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && fs.readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}

// Never leave a server behind, whatever happens to the test process.
function killAll() { for (const p of live) { try { p.kill('SIGKILL'); } catch { /* gone */ } } }
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAll(); process.exit(130); });

function procMem(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const r = /VmRSS:\s+(\d+)/.exec(s), h = /VmHWM:\s+(\d+)/.exec(s);
  return { rssKb: r ? Number(r[1]) : NaN, hwmKb: h ? Number(h[1]) : NaN };
}

module.exports = { Server, toYaml, sleep, within, SLOW, ROOT, procMem };
