'use strict';
// bench/uploads/upload.js — one large tus upload through `cordon serve` and
// through @tus/server (FileStore) on the same machine in the same run, with
// the same client: throughput of the PATCH that carries the whole file (as
// tus-js-client sends it by default) and each server's RSS growth while it
// runs (VmRSS sampled every 20 ms). Prints both figures, and the ratio.
//
// usage: node upload.js CORDON [SIZE_MB (256)] [RUNS (3)]
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Server } = require('../../tests/server/lib/server.js');

const [cordonBin, sizeArg, runsArg] = process.argv.slice(2);
if (!cordonBin) { console.error('usage: node upload.js CORDON [SIZE_MB] [RUNS]'); process.exit(2); }
const SIZE = Number(sizeArg || 256) * 1048576;
const RUNS = Number(runsArg || 3);
const piece = crypto.randomBytes(1 << 20); // incompressible, sent SIZE/1 MiB times

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function request(base, method, p, headers, body) {
  return new Promise((resolve, reject) => {
    const u = new URL(base + p);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method, headers }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (typeof body === 'function') body(req);
    else req.end(body);
  });
}

// The whole file in one PATCH, written as fast as the socket takes it.
function streamBody(req) {
  let sent = 0;
  const more = () => {
    while (sent < SIZE) {
      const n = Math.min(piece.length, SIZE - sent);
      sent += n;
      if (!req.write(n === piece.length ? piece : piece.subarray(0, n))) { req.once('drain', more); return; }
    }
    req.end();
  };
  more();
}

async function oneUpload(base, prefix, pid, extraHeaders, metadata) {
  const h = { 'Tus-Resumable': '1.0.0', ...extraHeaders };
  const c = await request(base, 'POST', prefix, { ...h, 'Upload-Length': String(SIZE), 'Upload-Metadata': metadata, 'Content-Length': '0' }, '');
  assert.equal(c.status, 201, c.text);
  const loc = new URL(c.headers.location, base).pathname;
  const rss0 = rssKiB(pid);
  let peak = rss0;
  const timer = setInterval(() => { peak = Math.max(peak, rssKiB(pid)); }, 20);
  const t = process.hrtime.bigint();
  const p = await request(base, 'PATCH', loc, { ...h, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0', 'Content-Length': String(SIZE) }, streamBody);
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  clearInterval(timer);
  assert.equal(p.status, 204, p.text);
  assert.equal(Number(p.headers['upload-offset']), SIZE);
  const out = { mbps: SIZE / 1048576 / s, seconds: s, rssGrowthMiB: (peak - rss0) / 1024 };
  if (extraHeaders.Authorization) {
    // cordon inspects after the last byte: wait for it (timed apart), so
    // the next upload does not share the CPU with this one's inspection
    const t2 = process.hrtime.bigint();
    for (;;) {
      const g = await request(base, 'GET', loc, { ...extraHeaders }, '');
      const st = JSON.parse(g.text).state;
      if (st !== 'inspecting' && st !== 'uploading') { out.state = st; break; }
      await new Promise((r) => setTimeout(r, 100));
    }
    out.inspectSeconds = Number(process.hrtime.bigint() - t2) / 1e9;
  }
  return out;
}

async function startTus(dir) {
  const proc = spawn(process.execPath, [path.join(__dirname, 'tus_target.mjs'), '0', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve) => proc.stdout.on('data', (d) => {
    const m = /listening (\d+)/.exec(d.toString());
    if (m) resolve(Number(m[1]));
  }));
  return { proc, base: `http://127.0.0.1:${port}` };
}

// The middle value; with an even count, the mean of the two middle ones
// (the upper one alone flattered whichever side had one fast run).
const median = (a) => {
    const s = [...a].sort((x, y) => x - y), m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

(async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-upbench-'));
  const srv = await Server.start({ cordon: cordonBin, logLevel: 'warn', config: { uploads: { max_size: SIZE, quota_bytes: SIZE * 64, max_active: 64 } } });
  const tus = await startTus(path.join(tmp, 'tus'));
  fs.mkdirSync(path.join(tmp, 'tus'), { recursive: true });
  try {
    const pw0 = srv.adminPassword;
    let r = await fetch(srv.base + '/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ login: 'admin', password: pw0 }) });
    const token = (await r.json()).token;
    const auth = { Authorization: `Bearer ${token}` };
    await fetch(srv.base + '/api/v1/auth/password', { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ old_password: pw0, new_password: 'Bench-Up-' + pw0 }) });
    r = await fetch(srv.base + '/api/v1/conversations', { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ kind: 'group', title: 'bench', member_ids: [] }) });
    const conv = (await r.json()).id;
    const b64 = (s) => Buffer.from(String(s)).toString('base64');
    const meta = `filename ${b64('big.bin')},conversation_id ${b64(conv)}`;
    const got = { cordon: [], tus: [] };
    for (let i = 0; i < RUNS; i++) {
      // alternate who goes first, so neither always runs on a warmer page
      // cache nor always right after the other's 2 GB of writeback
      const runCordon = async () => got.cordon.push(await oneUpload(srv.base, '/api/v1/uploads', srv.pid, auth, meta));
      const runTus = async () => got.tus.push(await oneUpload(tus.base, '/files', tus.proc.pid, {}, meta));
      if (i % 2 === 0) { await runCordon(); await runTus(); } else { await runTus(); await runCordon(); }
    }
    const c = median(got.cordon.map((x) => x.mbps)), t = median(got.tus.map((x) => x.mbps));
    const cr = Math.max(...got.cordon.map((x) => x.rssGrowthMiB)), tr = Math.max(...got.tus.map((x) => x.rssGrowthMiB));
    console.log(`upload of ${SIZE / 1048576} MiB in one PATCH, ${RUNS} runs each, alternating (who goes first too); ${os.cpus().length} CPUs`);
    console.log(`  cordon serve   ${c.toFixed(0).padStart(6)} MiB/s (median)   RSS growth ${cr.toFixed(1)} MiB (max)`);
    console.log(`  @tus/server    ${t.toFixed(0).padStart(6)} MiB/s (median)   RSS growth ${tr.toFixed(1)} MiB (max)`);
    console.log(`  ratio cordon/@tus ${(c / t).toFixed(2)}x   (target >= 1x; RSS growth target <= 64 MiB)`);
    // Each pair ran back to back, so its ratio shares the minute's disk state.
    const pairs = got.cordon.map((x, i) => (x.mbps / got.tus[i].mbps).toFixed(2));
    console.log(`  ratio per pair (same minute): ${pairs.join(' ')}`);
    console.log(`  runs: ${JSON.stringify(got)}`);
  } finally {
    tus.proc.kill('SIGTERM');
    await srv.stop();
    await srv.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
})().catch((e) => { console.error(e); process.exit(1); });
