'use strict';
// cordon backup / cordon restore: a backup made while the server takes
// messages restores into a fresh data directory, and a new server started
// on it has every message acknowledged before the backup began, the
// accounts, the saved lexicon and an intact audit chain. A damaged backup
// restores nothing; a data directory that holds a database is never
// overwritten; a backup never overwrites a directory.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Server, sleep, SLOW } = require('../lib/server.js');
const { bootstrapAdmin, makeUser, conversation, login, Api } = require('../lib/client.js');
const { Steady, allMessages } = require('../lib/steady.js');

const servers = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-backup-test-'));
after(async () => {
  for (const s of servers) await s.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a backup made under load restores into a new server with everything acknowledged before it', async () => {
  const srv = await Server.start({ config: { limits: { requests_per_second: 100000, burst: 100000 } } });
  servers.push(srv);
  const admin = await bootstrapAdmin(srv);
  const a = await makeUser(admin);
  const b = await makeUser(admin);
  const conv = await conversation(a, [b]);
  // a lexicon an administrator saved lives in the data directory
  fs.mkdirSync(path.join(srv.storeDir, 'lexicons'), { recursive: true });
  fs.writeFileSync(path.join(srv.storeDir, 'lexicons', 'projects.tsv'), '蓝鳍计划\tproject\thigh\n');

  const load = new Steady([{ api: a, kind: 'http' }, { api: b, kind: 'ws' }], conv.id, 'bk');
  load.start();
  const t0 = Date.now();
  while (load.acked.size < 100 && Date.now() - t0 < 8000 * SLOW) await sleep(10);
  const before = new Map(load.acked); // acknowledged before the backup began
  const out = path.join(tmp, 'backup1');
  const r = await srv.cliAsync(['backup', '--data', srv.storeDir, out]);
  assert.equal(r.status, 0, `backup: ${r.stdout} ${r.stderr}`);
  assert.match(r.stdout, /audit chain intact/);
  load.running = false;
  await load.done;
  assert.deepEqual(load.errors, [], 'the server kept serving during the backup');
  assert.ok(before.size > 0);

  const man = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  const names = man.files.map((f) => f.path).sort();
  assert.deepEqual(names, ['cordon.db', 'lexicons/projects.tsv']);
  assert.equal(fs.statSync(out).mode & 0o777, 0o700, 'the backup is private');
  assert.equal(fs.statSync(path.join(out, 'cordon.db')).mode & 0o777, 0o600);
  assert.ok(!fs.existsSync(path.join(out, 'audit-checkpoint.key')), 'no secret key in a backup');

  // a directory is never overwritten
  const again = await srv.cliAsync(['backup', '--data', srv.storeDir, out]);
  assert.equal(again.status, 2);

  // restore into a new data directory and start a server on it
  const dir2 = path.join(tmp, 'restored');
  const rr = await srv.cliAsync(['restore', '--data', path.join(dir2, 'data'), out]);
  assert.equal(rr.status, 0, `restore: ${rr.stdout} ${rr.stderr}`);
  const srv2 = await Server.start({ dataDir: dir2 });
  servers.push(srv2);
  const lb = await login(srv2.base, b.login, b.password);
  assert.equal(lb.status, 200, `the account came back: ${lb.text}`);
  const b2 = new Api(srv2.base, lb.body.token);
  const msgs = await allMessages(b2, conv.id);
  const got = new Map(msgs.map((m) => [m.client_id, m]));
  const missing = [...before.keys()].filter((k) => !got.has(k));
  assert.deepEqual(missing, [], `acknowledged before the backup but not restored (${missing.length} of ${before.size})`);
  for (const [cid, m] of before) assert.equal(got.get(cid).text, m.text);
  assert.equal(fs.readFileSync(path.join(dir2, 'data', 'lexicons', 'projects.tsv'), 'utf8'), '蓝鳍计划\tproject\thigh\n');
  const v = srv2.cli(['audit', 'verify', '--data', path.join(dir2, 'data')]);
  assert.equal(v.status, 0, `the restored audit chain: ${v.stdout} ${v.stderr}`);

  // a server's database is never overwritten
  const over = await srv.cliAsync(['restore', '--data', path.join(dir2, 'data'), out]);
  assert.equal(over.status, 2);
  assert.match(over.stderr, /already holds a database/);

  // a damaged backup restores nothing
  const db = path.join(out, 'cordon.db');
  const buf = fs.readFileSync(db);
  buf[buf.length - 100] ^= 0x55;
  fs.writeFileSync(db, buf);
  const dir3 = path.join(tmp, 'damaged');
  const bad = await srv.cliAsync(['restore', '--data', path.join(dir3, 'data'), out]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /cordon\.db is damaged/);
  assert.ok(!fs.existsSync(path.join(dir3, 'data', 'cordon.db')), 'nothing restored');
});
