'use strict';
// Policy reload without restart: a broken policy keeps the old one and says
// why (file:line); a good one takes effect at once; both are audited.
// The server runs with a copy of the default policy in its temp dir.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { world, auditVerify } = require('../lib/fixture.js');
const { conversation, send, assertError, assertAudit } = require('../lib/client.js');
const { ROOT, sleep, SLOW } = require('../lib/server.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-policy-'));
const POLICY = path.join(dir, 'test-policy.yaml');
const DEFAULT = fs.readFileSync(path.join(ROOT, 'data', 'policy', 'default.yaml'), 'utf8');
fs.writeFileSync(POLICY, DEFAULT.replace(/^name: default$/m, 'name: test-initial'));

const w = world({ a: {}, b: {} }, { policy: POLICY });
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const COMMERCIAL = '核心商密\n新产品定价策略（草案）';
let conv;

async function commercialVerdict() {
  if (!conv) conv = await conversation(w.a, [w.b]);
  const r = await send(w.a, conv.id, COMMERCIAL);
  return r.body && r.body.guard ? r.body.guard.verdict : `status ${r.status}`;
}

test('the configured policy file is in use', async () => {
  assert.equal(await commercialVerdict(), 'confirm');
  const p = await w.admin.ok('GET', '/admin/policy');
  assert.equal(p.path, POLICY);
  assert.ok(p.text.includes('commercial-marking'));
  assert.equal(p.name, 'test-initial', 'GET /admin/policy: name is the policy file\'s name');
  const h = await (await fetch(w.srv.base + '/api/v1/health')).json();
  assert.ok(h.policy.patterns > 0, `GET /health: policy.patterns (${JSON.stringify(h)})`);
});

test('a broken policy is refused with file:line and the old one stays', async () => {
  // YAML syntax error on line 3
  fs.writeFileSync(POLICY, 'version: 1\nname: broken\nrules: [\n  - id: x\n');
  let r = await w.admin.post('/admin/policy/reload', {});
  assertError(r, 422, 'policy_invalid', 'syntax error');
  assert.match(r.body.error.message, /test-policy\.yaml:\d+/, `names file:line: ${r.body.error.message}`);
  assert.equal(await commercialVerdict(), 'confirm', 'old policy still applies');

  // well-formed YAML, invalid policy (unknown action)
  fs.writeFileSync(POLICY, DEFAULT.replace(/^name: default$/m, 'name: bad-action')
    .replace(/(id: commercial-marking[\s\S]*?action: )confirm/, '$1explode'));
  r = await w.admin.post('/admin/policy/reload', {});
  assertError(r, 422, 'policy_invalid', 'unknown action');
  assert.match(r.body.error.message, /test-policy\.yaml:\d+/, r.body.error.message);
  assert.equal(await commercialVerdict(), 'confirm');

  // the file vanished
  fs.unlinkSync(POLICY);
  r = await w.admin.post('/admin/policy/reload', {});
  assertError(r, 422, 'policy_invalid', 'missing file');
  assert.equal(await commercialVerdict(), 'confirm');
  assert.equal((await w.admin.ok('GET', '/admin/policy')).name, 'test-initial', 'the name of the policy in force');
});

test('a good policy takes effect at once', async () => {
  fs.writeFileSync(POLICY, DEFAULT.replace(/^name: default$/m, 'name: test-reloaded')
    .replace(/(id: commercial-marking[\s\S]*?action: )confirm/, '$1block'));
  const r = await w.admin.post('/admin/policy/reload', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.ok, true);
  await commercialVerdict();
  const s = await send(w.a, conv.id, COMMERCIAL);
  assertError(s, 403, 'guard_blocked');
  assert.equal(s.body.guard.decided_by, 'commercial-marking');
  assert.equal(r.body.info.name, 'test-reloaded', `reload info names the policy: ${r.text}`);
});

test('SIGHUP reloads too, and a broken file on SIGHUP keeps the policy', async () => {
  fs.writeFileSync(POLICY, 'rules: : :\n');
  process.kill(w.srv.pid, 'SIGHUP');
  await sleep(1500 * SLOW);
  assert.ok(w.srv.running, 'still running after a bad SIGHUP reload');
  assert.equal(await commercialVerdict(), 'block', 'the reloaded policy (commercial -> block) stays');

  fs.writeFileSync(POLICY, DEFAULT.replace(/^name: default$/m, 'name: test-hup'));
  process.kill(w.srv.pid, 'SIGHUP');
  let v;
  for (let i = 0; i < 50; i++) {
    v = await commercialVerdict();
    if (v === 'confirm') break;
    await sleep(200 * SLOW);
  }
  assert.equal(v, 'confirm', 'SIGHUP loaded the new file');
});

test('the audit log records reloads and failed reloads', async () => {
  await assertAudit(w.admin, ['policy.reload', 'policy.reload_failed']);
});

test('audit chain verifies after the run', async () => {
  const v = await w.admin.ok('GET', '/audit/verify');
  assert.equal(v.ok, true, JSON.stringify(v));
  auditVerify(w.srv);
});
