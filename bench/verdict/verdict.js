'use strict';
// bench/verdict/verdict.js — how long a user waits for the guard's answer on
// a file sent into a chat: from the upload's last byte (one tus POST with
// creation-with-upload) to `GET /api/v1/uploads/{id}` leaving "inspecting",
// through a real `cordon serve`, for a photographed 机密 page, an office
// document and a small clean picture (bench/verdict/gen.py; every upload has
// bytes of its own, so the server's per-content cache is never what is
// timed). Next to the reference tools run on the same files in the same run:
// `tesseract FILE - -l chi_sim+eng` for the pictures (OCR alone, no guard) and
// `unzip -p FILE | rg -c 机密` for the document (unpack + literal search).
// Prints p50 and p90 of each and the ratio of the p50s, then where the
// median verdict's time goes: the upload's round trip (POST with the body
// → 201), the server's phases from its log (srv_inspect.c: waiting for an
// inspection thread, before the guard, the guard, after it, the record on
// the writer) and the rest (the client learning the state: its poll).
//
// usage: node verdict.js CORDON [N (9)]
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { execFileSync, spawnSync } = require('node:child_process');
const { Server } = require('../../tests/server/lib/server.js');

const [cordonBin, nArg] = process.argv.slice(2);
if (!cordonBin) { console.error('usage: node verdict.js CORDON [N]'); process.exit(2); }
const N = Number(nArg || 9);
const KINDS = [
  { name: 'photographed 机密 page', prefix: 'photo', ext: 'jpg', ref: 'tesseract' },
  { name: 'office document (docx)', prefix: 'doc', ext: 'docx', ref: 'unzip|rg' },
  { name: 'small clean picture', prefix: 'clean', ext: 'png', ref: 'tesseract' },
];

const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

function reference(kind, file) {
  const t0 = process.hrtime.bigint();
  if (kind.ref === 'tesseract') {
    const r = spawnSync('tesseract', [file, '-', '-l', 'chi_sim+eng'], { stdio: ['ignore', 'ignore', 'ignore'] });
    assert.equal(r.status, 0, 'tesseract failed');
  } else {
    spawnSync('sh', ['-c', `unzip -p '${file}' | rg -c 机密`], { stdio: 'ignore' });
  }
  return ms(t0);
}

(async () => {
  for (const tool of ['tesseract', 'unzip', 'rg']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) { console.error(`verdict: ${tool} not found`); process.exit(2); }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-verdict-'));
  execFileSync(path.join(__dirname, 'gen.py'), [dir, String(N + 1)]);
  const srv = await Server.start({ cordon: cordonBin, logLevel: 'info', config: { uploads: { max_active: 200 } } });
  try {
    const pw0 = srv.adminPassword;
    let r = await fetch(srv.base + '/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ login: 'admin', password: pw0 }) });
    const auth = { Authorization: `Bearer ${(await r.json()).token}` };
    await fetch(srv.base + '/api/v1/auth/password', { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ old_password: pw0, new_password: 'Bench-Verdict-' + pw0 }) });
    r = await fetch(srv.base + '/api/v1/conversations', { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ kind: 'group', title: 'bench', member_ids: [] }) });
    const conv = (await r.json()).id;
    const b64 = (s) => Buffer.from(String(s)).toString('base64');

    async function verdict(file, ext) {
      const body = fs.readFileSync(file);
      const t0 = process.hrtime.bigint();
      // one connection per upload (agent: false): the server ends the
      // connection after an upload's body, which a pooled client would reuse
      const loc = await new Promise((resolve, reject) => {
        const u = new URL(srv.base + '/api/v1/uploads');
        const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false,
          headers: { ...auth, 'Tus-Resumable': '1.0.0', 'Upload-Length': String(body.length), 'Content-Length': String(body.length),
            'Content-Type': 'application/offset+octet-stream', 'Upload-Metadata': `filename ${b64('f.' + ext)},conversation_id ${b64(conv)}` } }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 201 ? resolve(new URL(res.headers.location, srv.base).pathname) : reject(new Error(`upload: ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(body);
      });
      const up = ms(t0);
      for (let tries = 0; ; tries++) {
        // a pooled connection the server closed while idle (undici: "other
        // side closed") is a transport hiccup, not the verdict: ask again
        let g;
        try {
          g = await (await fetch(srv.base + loc, { headers: auth })).json();
        } catch (e) {
          if (tries > 20) throw e;
          continue;
        }
        if (g.state !== 'inspecting' && g.state !== 'uploading') return { ms: ms(t0), state: g.state, up, id: loc.split('/').pop() };
        await new Promise((res) => setTimeout(res, 5));
      }
    }

    const breakdown = [];
    // the server's phases of one upload, from its log line
    function phases(v) {
      const line = srv.log(2000).split('\n').reverse().find((l) => l.includes(`upload ${v.id}:`) && l.includes('wait='));
      const o = { up: v.up };
      if (!line) return o;
      for (const m of line.matchAll(/(wait|pre|scan|post|record)=([0-9.]+)/g)) o[m[1]] = Number(m[2]);
      o.rest = v.ms - v.up - ['wait', 'pre', 'scan', 'post', 'record'].reduce((a, x) => a + (o[x] || 0), 0);
      return o;
    }
    console.log(`verdict latency, ${N} files of each kind (p50 / p90 in ms), next to the reference run on the same files`);
    console.log(`${'kind'.padEnd(26)} ${'cordon verdict'.padStart(16)} ${'state'.padStart(8)} ${'reference'.padStart(22)} ${'ratio p50'.padStart(10)}`);
    for (const k of KINDS) {
      await verdict(path.join(dir, `${k.prefix}-${N}.${k.ext}`), k.ext); // warm: first worker, first OCR models
      const got = [], ref = [], parts = [];
      let state = '';
      for (let i = 0; i < N; i++) {
        const f = path.join(dir, `${k.prefix}-${i}.${k.ext}`);
        const v = await verdict(f, k.ext);
        got.push(v.ms);
        state = v.state;
        parts.push(phases(v));
        ref.push(reference(k, f));
      }
      const c50 = pct(got, 0.5), r50 = pct(ref, 0.5);
      console.log(`${k.name.padEnd(26)} ${`${c50.toFixed(0)} / ${pct(got, 0.9).toFixed(0)}`.padStart(16)} ${state.padStart(8)} ${`${k.ref} ${r50.toFixed(0)} / ${pct(ref, 0.9).toFixed(0)}`.padStart(22)} ${(c50 / r50).toFixed(2).padStart(10)}`);
      breakdown.push([k.name, parts]);
    }
    console.log('\nwhere the time goes (p50 of each phase, ms): upload = POST with the body until 201; wait/pre/scan/post/record = the server\'s inspection (srv_inspect.c log); rest = the client learning the state');
    for (const [name, parts] of breakdown) {
      const keys = ['up', 'wait', 'pre', 'scan', 'post', 'record', 'rest'];
      console.log(`${name.padEnd(26)} ${keys.map((x) => `${x} ${pct(parts.map((p) => p[x] ?? NaN), 0.5).toFixed(1)}`).join('  ')}`);
    }
  } finally {
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
})().catch((e) => { console.error(e); process.exit(1); });
