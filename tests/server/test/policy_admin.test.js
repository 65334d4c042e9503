'use strict';
// Managing the rules over the API (docs/API.md "Policy and lexicons"):
// the built-in policy's text, validating without installing (file:line of
// the submitted text), saving + reloading, a restart keeping what was saved,
// managed lexicons, admin-only access, and the audit trail.
// The server starts without a configured policy: a save goes to
// <data_dir>/policy.yaml.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { world, auditVerify } = require('../lib/fixture.js');
const { conversation, send, assertError, auditEntries } = require('../lib/client.js');
const { ROOT } = require('../lib/server.js');

const w = world({ a: {}, b: {}, off: { role: 'officer' } });
const DEFAULT = fs.readFileSync(path.join(ROOT, 'data', 'policy', 'default.yaml'), 'utf8');
const COMMERCIAL = '核心商密\n新产品定价策略（草案）';
const BLOCKING = DEFAULT.replace(/^name: default$/m, 'name: test-saved')
  .replace(/(id: commercial-marking[\s\S]*?action: )confirm/, '$1block');
// line 5 has the unknown action
const BROKEN = 'version: 1\nname: broken\nrules:\n  - id: x\n    action: explode\n    match:\n      category: marking\n';
const TERM = '蓝鲸九号';
let conv;

const put = (api, p, body) => api.req('PUT', p, body);
const dataFile = (...p) => path.join(w.srv.dataDir, 'data', ...p);

async function commercial() {
  if (!conv) conv = await conversation(w.a, [w.b]);
  return send(w.a, conv.id, COMMERCIAL);
}

async function check(text) {
  const r = await w.a.post('/guard/check', { text });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

test('GET /admin/policy returns the built-in policy text', async () => {
  const p = await w.admin.ok('GET', '/admin/policy');
  assert.equal(p.builtin, true);
  assert.equal(p.path, null);
  assert.equal(p.name, 'default');
  assert.equal(p.text, DEFAULT, 'the compiled-in default.yaml, byte for byte');
  assert.equal(p.save_path, dataFile('policy.yaml'));
});

test('validate: a good policy is compiled, not installed', async () => {
  const r = await w.admin.post('/admin/policy/validate', { text: BLOCKING });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.ok, true);
  assert.equal(r.body.info.name, 'test-saved');
  assert.ok(r.body.info.patterns > 0, r.text);
  assert.equal((await commercial()).body.guard.verdict, 'confirm', 'not installed');
  assert.equal((await w.admin.ok('GET', '/admin/policy')).builtin, true);
  assert.ok(!fs.existsSync(dataFile('policy.yaml')), 'no file written');
  assert.deepEqual(fs.readdirSync(dataFile()).filter((f) => f.startsWith('.policy')), [], 'no temporary left');
});

test('validate: a broken policy names the line of the submitted text', async () => {
  let r = await w.admin.post('/admin/policy/validate', { text: BROKEN });
  assertError(r, 422, 'policy_invalid', 'unknown action');
  assert.match(r.body.error.message, /^policy\.yaml:5: /, r.body.error.message);
  assert.ok(!r.body.error.message.includes('.policy.yaml.'), 'no temporary path in the message');
  r = await w.admin.post('/admin/policy/validate', { text: 'version: 1\nrules: [\n' });
  assertError(r, 422, 'policy_invalid', 'syntax error');
  assert.match(r.body.error.message, /policy\.yaml:\d+/, r.body.error.message);
  r = await w.admin.post('/admin/policy/validate', {});
  assertError(r, 400, 'bad_request', 'text missing');
  r = await w.admin.post('/admin/policy/validate', { text: 5 });
  assertError(r, 400, 'bad_request', 'text not a string');
});

test('PUT /admin/policy saves, reloads, and the new policy applies at once', async () => {
  const r = await put(w.admin, '/admin/policy', { text: BLOCKING });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.ok, true);
  assert.equal(r.body.info.name, 'test-saved');
  const s = await commercial();
  assertError(s, 403, 'guard_blocked');
  assert.equal(s.body.guard.decided_by, 'commercial-marking');
  const p = await w.admin.ok('GET', '/admin/policy');
  assert.equal(p.builtin, false);
  assert.equal(p.path, dataFile('policy.yaml'));
  assert.equal(p.name, 'test-saved');
  assert.equal(p.text, BLOCKING);
  assert.equal(fs.readFileSync(dataFile('policy.yaml'), 'utf8'), BLOCKING);
});

test('a broken PUT is refused and the old policy stays', async () => {
  const r = await put(w.admin, '/admin/policy', { text: BROKEN });
  assertError(r, 422, 'policy_invalid');
  assert.match(r.body.error.message, /^policy\.yaml:5: /, r.body.error.message);
  assertError(await commercial(), 403, 'guard_blocked', 'still the saved policy');
  assert.equal((await w.admin.ok('GET', '/admin/policy')).name, 'test-saved');
  assert.equal(fs.readFileSync(dataFile('policy.yaml'), 'utf8'), BLOCKING, 'file untouched');
});

test('lexicons: PUT adds a term the guard finds at once; list and GET show it', async () => {
  assert.deepEqual((await w.admin.ok('GET', '/admin/lexicons')).lexicons, []);
  assert.equal((await check(`关于${TERM}的安排`)).findings.filter((f) => f.category === 'lexicon').length, 0);
  const text = `# test terms\n${TERM}\tprojects\thigh\n红杉行动\tprojects\n`;
  let r = await w.admin.post('/admin/lexicons/projects/validate', { text });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.info.terms, 2);
  assert.equal((await check(TERM)).verdict, 'allow', 'validation installs nothing');
  r = await put(w.admin, '/admin/lexicons/projects', { text });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.info.terms, 2);
  const g = await check(`关于${TERM}的安排`);
  const f = g.findings.find((x) => x.rule === 'lexicon.projects');
  assert.ok(f, JSON.stringify(g));
  assert.equal(g.verdict, 'block', 'lexicon-high blocks');
  const l = (await w.admin.ok('GET', '/admin/lexicons')).lexicons;
  assert.equal(l.length, 1);
  assert.equal(l[0].name, 'projects');
  assert.equal(l[0].terms, 2);
  assert.equal(l[0].read_only, false);
  assert.equal(l[0].bytes, Buffer.byteLength(text));
  assert.ok(l[0].updated > 0);
  const one = await w.admin.ok('GET', '/admin/lexicons/projects');
  assert.equal(one.text, text);
});

test('lexicons: a broken one is refused with its line, nothing is written', async () => {
  let r = await put(w.admin, '/admin/lexicons/broken', { text: 'fine\n坏词\tcat\tsevere\n' });
  assertError(r, 422, 'lexicon_invalid');
  assert.match(r.body.error.message, /^broken\.tsv:2: /, r.body.error.message);
  r = await w.admin.post('/admin/lexicons/broken/validate', { text: 'a\tb\tc\td\n' });
  assertError(r, 422, 'lexicon_invalid');
  assert.match(r.body.error.message, /^broken\.tsv:1: /, r.body.error.message);
  assertError(await w.admin.get('/admin/lexicons/broken'), 404, 'not_found');
  assert.deepEqual(fs.readdirSync(dataFile('lexicons')).sort(), ['projects.tsv']);
  // names are [a-z0-9_-]{1,64}: anything else is no such endpoint
  for (const bad of ['Bad', 'a.b', '..', 'x'.repeat(65), '%2e%2e']) {
    r = await put(w.admin, `/admin/lexicons/${bad}`, { text: 'x\n' });
    assert.equal(r.status, 404, `${bad}: ${r.text}`);
  }
  assert.ok(TERM && (await check(TERM)).findings.some((x) => x.rule === 'lexicon.projects'), 'still in force');
});

test('a restart keeps the saved policy and lexicons', async () => {
  await w.srv.restart();
  for (const api of [w.admin, w.a, w.b, w.off]) api.base = w.srv.base;
  assertError(await commercial(), 403, 'guard_blocked', 'saved policy after restart');
  assert.equal((await w.admin.ok('GET', '/admin/policy')).name, 'test-saved');
  assert.ok((await check(TERM)).findings.some((x) => x.rule === 'lexicon.projects'), 'lexicon after restart');
});

test('DELETE removes a lexicon and its terms', async () => {
  const r = await w.admin.del('/admin/lexicons/projects');
  assert.equal(r.status, 204, r.text);
  assert.equal((await check(TERM)).findings.filter((x) => x.category === 'lexicon').length, 0);
  assertError(await w.admin.get('/admin/lexicons/projects'), 404, 'not_found');
  assertError(await w.admin.del('/admin/lexicons/projects'), 404, 'not_found');
  assert.deepEqual((await w.admin.ok('GET', '/admin/lexicons')).lexicons, []);
});

test('members and officers may not read or change the rules', async () => {
  const calls = [
    ['GET', '/admin/policy'], ['POST', '/admin/policy/validate', { text: DEFAULT }],
    ['PUT', '/admin/policy', { text: DEFAULT }], ['POST', '/admin/policy/reload', {}],
    ['GET', '/admin/lexicons'], ['GET', '/admin/lexicons/projects'],
    ['PUT', '/admin/lexicons/evil', { text: 'x\n' }], ['POST', '/admin/lexicons/evil/validate', { text: 'x\n' }],
    ['DELETE', '/admin/lexicons/evil'],
  ];
  for (const who of [w.a, w.off]) {
    for (const [m, p, body] of calls) assertError(await who.req(m, p, body), 403, 'forbidden', `${m} ${p}`);
  }
  assert.ok(!fs.existsSync(dataFile('lexicons', 'evil.tsv')));
  assert.equal((await w.admin.ok('GET', '/admin/policy')).name, 'test-saved');
});

test('the audit log has the updates (hash, never the text) and verifies', async () => {
  const entries = await auditEntries(w.admin);
  const upd = entries.filter((e) => e.event === 'policy.update');
  assert.equal(upd.length, 1, 'one successful policy save');
  const detail = typeof upd[0].detail === 'string' ? JSON.parse(upd[0].detail) : upd[0].detail;
  assert.match(detail.sha256, /^[0-9a-f]{64}$/);
  assert.equal(detail.bytes, Buffer.byteLength(BLOCKING));
  assert.equal(upd[0].actor, w.admin.user ? w.admin.user.login : upd[0].actor);
  const lx = entries.filter((e) => e.event === 'lexicon.update');
  assert.equal(lx.length, 1);
  assert.equal(lx[0].target, 'projects');
  assert.equal(entries.filter((e) => e.event === 'lexicon.delete').length, 1);
  assert.ok(entries.some((e) => e.event === 'policy.reload'));
  assert.ok(!JSON.stringify(entries).includes(TERM), 'no lexicon term in the audit log');
  assert.ok(!JSON.stringify(entries).includes('test-saved'), 'no policy text in the audit log');
  const v = await w.admin.ok('GET', '/audit/verify');
  assert.equal(v.ok, true, JSON.stringify(v));
  auditVerify(w.srv);
});
