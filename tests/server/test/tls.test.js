'use strict';
// TLS: with a certificate configured the server speaks HTTPS and WSS only,
// the session cookie gains Secure, and a client that checks the certificate
// against its CA gets through. The certificate is made here with openssl
// (a throwaway CA-less self-signed one for 127.0.0.1).
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const https = require('node:https');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const WebSocket = require('ws');
const { within, SLOW } = require('../lib/server.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-tls-'));
const cert = path.join(dir, 'cert.pem');
const key = path.join(dir, 'key.pem');
let proc = null;
let port = 0;
let adminPassword = null;

after(async () => {
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    proc.kill('SIGTERM');
    await within(new Promise((r) => proc.once('exit', r)), 20000 * SLOW);
  }
  if (!process.env.KEEP_TEST_DATA) fs.rmSync(dir, { recursive: true, force: true });
});

function request(method, p, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const req = https.request({
      host: '127.0.0.1', port, path: '/api/v1' + p, method, ca: fs.readFileSync(cert),
      headers: { ...headers, ...(data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = text ? JSON.parse(text) : null; } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, body: json, text });
      });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

test('the server starts with TLS when a certificate is configured', async () => {
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', key, '-out', cert], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const cfg = path.join(dir, 'cordon.yaml');
  fs.writeFileSync(cfg, `tls:\n  cert: ${JSON.stringify(cert)}\n  key: ${JSON.stringify(key)}\n`);
  proc = spawn(process.env.CORDON, ['serve', '--config', cfg, '--listen', '127.0.0.1:0',
    '--data', path.join(dir, 'data'), '--insecure-fast-hash'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CORDON_TEST_FAST_HASH: '1' },
  });
  let log = '';
  const started = new Promise((resolve) => {
    const onData = (d) => {
      log += d.toString('utf8');
      const m = /cordon: listening on (https?):\/\/127\.0\.0\.1:(\d+)/.exec(log);
      const pw = /cordon: bootstrap admin login=admin password=(\S+)/.exec(log);
      if (m && pw) resolve({ scheme: m[1], port: Number(m[2]), pw: pw[1] });
    };
    proc.stderr.on('data', onData);
    proc.stdout.on('data', onData);
  });
  const s = await within(started, 30000 * SLOW, null);
  assert.ok(s, `server did not start:\n${log}`);
  assert.equal(s.scheme, 'https', 'announces https');
  port = s.port;
  adminPassword = s.pw;
  const h = await request('GET', '/health');
  assert.equal(h.status, 200, h.text);
  assert.equal(h.body.ok, true);
});

test('a plain-HTTP request on the TLS port gets no API answer', async () => {
  const answer = await new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write('GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n'));
    let got = '';
    sock.on('data', (d) => { got += d.toString('latin1'); });
    sock.on('error', () => resolve(got));
    sock.on('close', () => resolve(got));
    setTimeout(() => { sock.destroy(); resolve(got); }, 3000 * SLOW);
  });
  assert.doesNotMatch(answer, /"ok":true/, 'no cleartext API response');
});

test('login over TLS sets a Secure cookie and WSS works with it', async () => {
  const r = await request('POST', '/auth/login', { login: 'admin', password: adminPassword });
  assert.equal(r.status, 200, r.text);
  const cookie = [].concat(r.headers['set-cookie'] || []).join('\n');
  assert.match(cookie, /cordon_session=/);
  assert.match(cookie, /;\s*Secure/i, 'Secure flag under TLS');
  assert.match(cookie, /HttpOnly/i);
  // the bootstrap admin must change the password first; then the socket opens
  const token = r.body.token;
  const ch = await request('POST', '/auth/password',
    { old_password: adminPassword, new_password: 'tls-secure-password-1' }, { Authorization: `Bearer ${token}` });
  assert.equal(ch.status, 204, ch.text);
  const hello = await new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/api/v1/ws`, {
      ca: fs.readFileSync(cert), headers: { Authorization: `Bearer ${token}` },
    });
    ws.once('message', (d) => { resolve(JSON.parse(d.toString('utf8'))); ws.close(); });
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`ws refused: ${res.statusCode}`)));
  });
  assert.equal(hello.type, 'hello');
});

test('SIGTERM stops the TLS server cleanly', async () => {
  proc.kill('SIGTERM');
  const e = await within(new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal }))), 20000 * SLOW, null);
  assert.ok(e, 'exited');
  assert.equal(e.code, 0);
});
