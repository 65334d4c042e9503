'use strict';
// SIEM export (docs/SERVER.md, "SIEM export"): alerts and audit entries as
// RFC 5424 syslog messages, JSON over UDP and CEF over TCP (RFC 6587 octet
// counting), received by a real rsyslogd (Debian's package) started here on
// loopback ports with its own configuration, in the foreground. rsyslog
// parses each message and writes its fields out, so what is checked is what
// a SIEM behind rsyslog would see.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Server } = require('../lib/server.js');
const { bootstrapAdmin, makeUser, send, conversation } = require('../lib/client.js');

const RSYSLOGD = '/usr/sbin/rsyslogd';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-siem-'));
const out = path.join(dir, 'received.log');
let rsyslog = null;
let udpPort = 0;
let tcpPort = 0;
const srv = {};

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function tcpReady(port) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`rsyslogd did not listen on ${port}:\n${rsyslog.stderrText}`);
}

// The messages rsyslog received: one JSON object per line, built by its
// template from the fields it parsed.
function received() {
  if (!fs.existsSync(out)) return [];
  return fs.readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
// The JSON payload of a message (null for a CEF one: both servers send here).
const body = (m) => (m.msg.startsWith('{') ? JSON.parse(m.msg) : null);
async function waitFor(pred, what, ms = 15000) {
  const t0 = Date.now();
  for (;;) {
    const got = received().filter(pred);
    if (got.length) return got;
    if (Date.now() - t0 > ms) throw new Error(`rsyslog never received ${what}; it has:\n${fs.existsSync(out) ? fs.readFileSync(out, 'utf8').slice(-3000) : '(nothing)'}`);
    await sleep(200);
  }
}

before(async () => {
  if (!fs.existsSync(RSYSLOGD)) throw new Error(`${RSYSLOGD} missing: apt-get install rsyslog (scripts/install-deps.sh)`);
  udpPort = await freePort();
  tcpPort = await freePort();
  const conf = path.join(dir, 'rsyslog.conf');
  fs.writeFileSync(conf, `
global(workDirectory="${dir}" maxMessageSize="64k")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="${udpPort}" ruleset="cordon")
input(type="imtcp" address="127.0.0.1" port="${tcpPort}" ruleset="cordon")
template(name="fields" type="list" option.jsonf="on") {
  property(outname="version" name="protocol-version" format="jsonf")
  property(outname="facility" name="syslogfacility" format="jsonf")
  property(outname="severity" name="syslogseverity" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
}
ruleset(name="cordon") { action(type="omfile" file="${out}" template="fields") }
`);
  rsyslog = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', path.join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
  rsyslog.stderrText = '';
  rsyslog.stderr.on('data', (d) => { rsyslog.stderrText += d; });
  await tcpReady(tcpPort);

  srv.json = await Server.start({ config: { siem: { address: `127.0.0.1:${udpPort}`, transport: 'udp', format: 'json', interval_ms: 100 } } });
  srv.cef = await Server.start({ config: { siem: { address: `127.0.0.1:${tcpPort}`, transport: 'tcp', format: 'cef', interval_ms: 100, facility: 10 } } });
  for (const k of ['json', 'cef']) {
    srv[k].admin = await bootstrapAdmin(srv[k]);
    srv[k].a = await makeUser(srv[k].admin, { login: `a${k}` });
    srv[k].b = await makeUser(srv[k].admin, { login: `b${k}` });
  }
});

after(async () => {
  for (const s of Object.values(srv)) {
    const exit = await s.stop();
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, s.log(40));
    await s.dispose();
  }
  if (rsyslog) {
    rsyslog.kill('SIGTERM');
    await new Promise((r) => rsyslog.once('exit', r));
  }
  if (!process.env.KEEP_TEST_DATA) fs.rmSync(dir, { recursive: true, force: true });
});

test('JSON over UDP: audit entries and alerts arrive as RFC 5424 messages rsyslog parses', async () => {
  const s = srv.json;
  const g = await conversation(s.a, [s.b], { title: 'siem' });
  const r = await send(s.a, g.id, '客户的手机号是13800138000，请回电');
  assert.equal(r.body.guard.verdict, 'warn');
  const login = (await waitFor((m) => m.msgid === 'audit' && body(m)?.event === 'auth.login' && body(m).actor === 'ajson', 'the login'))[0];
  assert.equal(login.version, '1', 'parsed as RFC 5424');
  assert.equal(login.app, 'cordon');
  assert.equal(login.facility, '13', 'log audit, the default');
  assert.equal(login.severity, '5');
  const e = JSON.parse(login.msg);
  assert.equal(e.type, 'audit');
  assert.match(login.sd, new RegExp(`^\\[cordon@32473 seq="${e.seq}" event="auth.login"\\]$`));
  assert.match(e.hash, /^[0-9a-f]{64}$/, 'the chain hash goes along');

  const al = (await waitFor((m) => m.msgid === 'alert' && body(m)?.message_id === r.body.message.id, 'the alert'))[0];
  assert.equal(al.severity, '4', 'warning');
  const a = JSON.parse(al.msg);
  assert.equal(a.type, 'alert');
  assert.equal(a.category, 'pii');
  assert.equal(a.verdict, 'warn');
  assert.equal(a.conversation_id, g.id);
  assert.equal(a.justified, false);
  assert.ok(!('justification' in a));
  assert.ok(a.findings.length > 0 && a.findings.every((f) => !('context_before' in f) && !('context_after' in f)), 'no text around findings');
  assert.ok(!al.msg.includes('13800138000') && !al.msg.includes('请回电'), 'no message content leaves');
  assert.ok(Math.abs(Date.parse(al.timestamp) - a.created_at) < 1000, 'the alert time as timestamp');
  // the guard.warn audit entry too
  await waitFor((m) => m.msgid === 'audit' && body(m)?.event === 'guard.warn', 'guard.warn');
});

test('a restart neither repeats nor skips', async () => {
  const s = srv.json;
  const seqs = received().filter((m) => m.msgid === 'audit' && body(m)).map((m) => body(m).seq);
  await s.restart();
  s.admin = await bootstrapAdmin(s).catch(() => null) ?? s.admin;
  const r = await require('../lib/client.js').login(s.base, s.a.login, s.a.password);
  assert.equal(r.status, 200, r.text);
  await waitFor((m) => m.msgid === 'audit' && body(m)?.event === 'auth.login' && body(m).seq > Math.max(...seqs), 'the login after the restart');
  await sleep(500);
  const all = received().filter((m) => m.msgid === 'audit' && body(m)).map((m) => body(m).seq);
  assert.equal(new Set(all).size, all.length, 'no entry sent twice');
  const max = Math.max(...all);
  for (let q = 1; q <= max; q++) assert.ok(all.includes(q), `entry ${q} was sent`);
});

test('CEF over TCP with octet counting: blocked content, severity, escaping', async () => {
  const s = srv.cef;
  const g = await conversation(s.a, [s.b], { title: 'cef' });
  const r = await send(s.a, g.id, '绝密★30年\n关于某项目的通知');
  assert.equal(r.status, 403);
  const al = (await waitFor((m) => m.msgid === 'alert' && m.msg.includes('|alert.marking|'), 'the block alert'))[0];
  assert.equal(al.version, '1');
  assert.equal(al.facility, '10', 'the configured facility');
  assert.equal(al.severity, '3', 'a block is an error');
  assert.match(al.msg, /^CEF:0\|Cordon\|Cordon\|[^|]+\|alert\.marking\|marking\|8\|rt=\d+ externalId=\d+ suid=\d+ act=block cs1Label=rule cs1=\S+ cn1Label=conversation cn1=\d+ cn2Label=message cn2=0$/);
  assert.ok(!al.msg.includes('关于某项目'), 'no content');
  const conv = (await waitFor((m) => m.msgid === 'audit' && m.msg.includes('|conv.create|'), 'conv.create'))[0];
  assert.match(conv.msg, /^CEF:0\|Cordon\|Cordon\|[^|]+\|conv\.create\|conv\.create\|3\|rt=\d+ externalId=\d+ suid=\d+ suser=acef act=conv\.create cs1Label=target cs1=conversation:\d+ cs2Label=detail cs2=\{.*\}$/);
  // an officer's words in a detail: = and \ escaped in an extension value, | as is
  await s.admin.ok('POST', '/alerts/1/resolve', { comment: 'a=b|c\\d' });
  const res = (await waitFor((m) => m.msgid === 'audit' && m.msg.includes('|alert.resolve|'), 'alert.resolve'))[0];
  assert.ok(res.msg.includes('cs2={"comment":"a\\=b|c\\\\\\\\d"}'), res.msg);
});
