'use strict';
// Signed checkpoints of the audit chain head (docs/AUDIT.md, "Checkpoints"):
// `cordon serve` writes one every audit.checkpoint_interval_s when the head
// moved and one at shutdown; GET /audit/verify and `cordon audit verify`
// check the log against them, so a log cut at its end no longer verifies.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { world } = require('../lib/fixture.js');
const { makeUser, login, Api } = require('../lib/client.js');
const { sleep, SLOW } = require('../lib/server.js');

// syslog(3) into a file: tests/syslog_shim.c, preloaded (meson passes its
// path; by hand, it is found in the build tree beside the cordon under test).
const { CORDON_SYSLOG_SHIM, CORDON } = process.env;
const shim = CORDON_SYSLOG_SHIM ||
  path.resolve(path.dirname(CORDON || path.join(__dirname, '../../../build/src/tool/cordon')), '../../tests/libsyslog_shim.so');
assert.ok(fs.existsSync(shim), `the syslog shim is built: ${shim} (ninja -C build)`);
const syslogFile = path.join(fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'cordon-syslog-')), 'syslog');
const w = world({ o: { role: 'officer' } }, {
  config: { audit: { checkpoint_interval_s: 1 } },
  env: {
    LD_PRELOAD: shim, CORDON_SYSLOG_FILE: syslogFile,
    ASAN_OPTIONS: [process.env.ASAN_OPTIONS, 'verify_asan_link_order=0'].filter(Boolean).join(':'),
  },
});

// What went to syslog as authpriv.notice (10 << 3 | 5): the checkpoint lines.
function syslogged() {
  if (!fs.existsSync(syslogFile)) return [];
  return fs.readFileSync(syslogFile, 'utf8').split('\n').filter((l) => l.startsWith('85 cordon-audit-checkpoint-v1 ')).map((l) => l.slice(3));
}

const ckFile = () => path.join(w.srv.storeDir, 'audit-checkpoints.log');

// The checkpoints in the file: [{seq, hash, line}].
function checkpoints() {
  if (!fs.existsSync(ckFile())) return [];
  return fs.readFileSync(ckFile(), 'utf8').split('\n').filter(Boolean).map((line) => {
    const m = /^cordon-audit-checkpoint-v1 db=[0-9a-f]{32} seq=(\d+) hash=([0-9a-f]{64}) time=\d+ sig=[0-9a-f]{128}$/.exec(line);
    assert.ok(m, `a checkpoint line: ${line}`);
    return { seq: Number(m[1]), hash: m[2], line };
  });
}

async function waitFor(pred, what, ms = 8000 * SLOW) {
  const until = Date.now() + ms;
  for (;;) {
    const v = pred();
    if (v) return v;
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}\n${w.srv.log(30)}`);
    await sleep(100);
  }
}

// The head as the server's verify sees it.
async function head(api) {
  const v = await api.ok('GET', '/audit/verify');
  assert.equal(v.ok, true, JSON.stringify(v));
  return v;
}

test('checkpoints are written periodically, only when the head moved', async () => {
  let v = await head(w.o);
  const first = await waitFor(() => checkpoints().find((c) => c.seq >= v.entries), `a checkpoint at seq ${v.entries}`);
  assert.ok(first.seq >= v.entries);
  assert.equal((fs.statSync(ckFile()).mode & 0o777).toString(8), '600', 'checkpoint file is private');
  assert.equal((fs.statSync(path.join(w.srv.storeDir, 'audit-checkpoint.key')).mode & 0o777).toString(8), '600',
    'signing key created with mode 0600');
  // the head stands still: no new checkpoint over a few intervals
  v = await head(w.o);
  await waitFor(() => checkpoints().some((c) => c.seq === v.entries), `a checkpoint at seq ${v.entries}`);
  const n = checkpoints().length;
  await sleep(2500);
  v = await head(w.o);
  assert.equal(v.entries, checkpoints().at(-1).seq, 'the head stood still');
  assert.equal(checkpoints().length, n, 'no new checkpoint while the head stands still');
  // the head moves (a new user: user.add and more): a new checkpoint follows
  await makeUser(w.admin);
  v = await head(w.o);
  await waitFor(() => checkpoints().some((c) => c.seq >= v.entries), `a checkpoint at seq ${v.entries}`);
  // every line of the file went to syslog too, in the same order
  assert.deepEqual(syslogged(), checkpoints().map((c) => c.line), 'each checkpoint also sent to syslog');
  const r = await w.o.ok('GET', '/audit/verify');
  assert.equal(r.checkpoint.status, 'verified', JSON.stringify(r));
  assert.ok(r.checkpoint.seq >= v.entries && r.checkpoint.seq <= r.entries, JSON.stringify(r));
  assert.match(r.checkpoint.hash, /^[0-9a-f]{64}$/);
});

test('a checkpoint at shutdown; a log cut at its end then fails verify (CLI and API)', async () => {
  // a long interval: only the shutdown can write the next checkpoint
  w.srv.opts.config = { audit: { checkpoint_interval_s: 3600 } };
  await w.srv.restart();
  const r0 = await login(w.srv.base, w.o.login, w.o.password); // moves the head: auth.login
  assert.equal(r0.status, 200, r0.text);
  const before = checkpoints().length;
  const exit = await w.srv.stop('SIGTERM');
  assert.equal(exit.code, 0);
  assert.equal(checkpoints().length, before + 1, 'one checkpoint at shutdown');
  assert.equal(syslogged().at(-1), checkpoints().at(-1).line, 'the shutdown checkpoint sent to syslog');
  const ok = w.srv.cli(['audit', 'verify', '--data', w.srv.storeDir]);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  const n = Number(/intact up to seq (\d+)/.exec(ok.stdout)[1]);
  const last = checkpoints().at(-1);
  assert.equal(last.seq, n, 'the last checkpoint names the head the server left');
  assert.match(ok.stdout, new RegExp(`checkpoint at seq ${n} verified`));

  // delete the last 6 entries and rewrite audit_head to match
  // (the append-only trigger out of the way first, as whoever does this can)
  w.srv.sql((w.srv.storeUrl ? 'ALTER TABLE audit DISABLE TRIGGER USER;' : 'DROP TRIGGER audit_no_delete;') +
    `DELETE FROM audit WHERE seq > ${n - 6};` +
    `UPDATE audit_head SET seq = ${n - 6}, hash = (SELECT hash FROM audit WHERE seq = ${n - 6});`);
  const bad = w.srv.cli(['audit', 'verify', '--data', w.srv.storeDir]);
  assert.equal(bad.status, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout, new RegExp(`log truncated: checkpoint at seq ${n} \\(hash ${last.hash}\\) but the log ends at seq ${n - 6}`));

  await w.srv.restart();
  const r = await login(w.srv.base, w.o.login, w.o.password); // one more entry: auth.login
  assert.equal(r.status, 200, r.text);
  const v = await new Api(w.srv.base, r.body.token).ok('GET', '/audit/verify');
  assert.equal(v.ok, false, JSON.stringify(v));
  assert.equal(v.first_bad, null, 'the chain itself is intact');
  assert.equal(v.checkpoint.status, 'truncated', JSON.stringify(v));
  assert.equal(v.checkpoint.seq, n);
  assert.ok(v.checkpoint.log_seq < n, JSON.stringify(v));
  assert.match(v.checkpoint.message, /log truncated/);
});
