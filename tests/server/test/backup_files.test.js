'use strict';
// cordon backup / cordon restore with files, on the store the suite runs on:
// SQLite in the plain suite, PostgreSQL when run by tests/server/run-pg.sh
// (pg_dump / pg_restore; docs/CLI.md). A server with messages and a file is
// backed up while it runs, then wiped — server stopped, its database
// dropped (PostgreSQL) and its data directory with the blobs removed — and
// the backup is restored into a fresh database and a fresh data directory:
// a new server there has every message, the file downloads byte for byte,
// and the audit chain verifies, and an upload that was half sent when the
// backup was made goes on from its offset and finishes. A restore into a
// database that holds data is refused; a damaged backup restores nothing.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { Server } = require('../lib/server.js');
const { bootstrapAdmin, makeUser, conversation, send, login, Api } = require('../lib/client.js');
const { allMessages } = require('../lib/steady.js');
const { uploadFile, TUS, b64 } = require('../lib/uploads.js');

const PG = process.env.CORDON_TEST_STORE_PG;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-backup-files-'));
const servers = [];
const dbs = [];

function psql(...cmds) {
  const args = [PG, '-v', 'ON_ERROR_STOP=1', '-qAt'];
  for (const c of cmds) args.push('-c', c);
  const r = spawnSync('psql', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `psql: ${r.stderr}`);
  return r.stdout.trim();
}

// A new empty database on the suite's PostgreSQL cluster: its URL.
function emptyDatabase(tag) {
  const name = `cordon_restore_${process.pid}_${tag}`;
  psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, `CREATE DATABASE ${name}`);
  dbs.push(name);
  const m = /^(postgres(?:ql)?:\/\/[^/]*\/)([^?]*)(.*)$/.exec(PG);
  return m[1] + name + m[3];
}

// `cordon ARGS` against a given store (PostgreSQL URL) or none (SQLite).
function cli(cordon, args, store) {
  const env = { ...process.env };
  delete env.CORDON_STORE;
  if (store) env.CORDON_STORE = store;
  return spawnSync(cordon, args, { encoding: 'utf8', env, timeout: 120000 });
}

after(async () => {
  for (const s of servers) await s.dispose();
  for (const name of dbs) psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test(`backup with a file, wipe, restore: history and download come back (${PG ? 'PostgreSQL' : 'SQLite'})`, async () => {
  const srv = await Server.start();
  servers.push(srv);
  assert.equal(Boolean(srv.storeUrl), Boolean(PG), 'the server runs on the suite\'s store');
  const admin = await bootstrapAdmin(srv);
  const a = await makeUser(admin);
  const b = await makeUser(admin);
  const conv = await conversation(a, [b], { title: 'backup with files' });
  const texts = [];
  for (let i = 0; i < 20; i++) {
    const t = `周报第 ${i} 段 weekly part ${i}`;
    assert.equal((await send(a, conv.id, t)).status, 201);
    texts.push(t);
  }
  const bytes = Buffer.from(`会议纪要 minutes ${crypto.randomBytes(16).toString('hex')}\n`.repeat(200));
  const up = await uploadFile(a, conv.id, bytes, '会议纪要.txt');
  assert.equal(up.state, 'ready', JSON.stringify(up));
  const sent = await a.req('POST', `/conversations/${conv.id}/messages`, { client_id: 'bk-file', text: '附件', attachments: [up.file_id] });
  assert.equal(sent.status, 201, sent.text);
  texts.push('附件');
  // an upload in progress: half its bytes sent
  const partial = Buffer.from(`出差计划 travel plan ${crypto.randomBytes(8).toString('hex')}\n`.repeat(400));
  const half = Math.floor(partial.length / 2);
  const created = await a.req('POST', '/uploads', undefined, { headers: { ...TUS, 'Upload-Length': String(partial.length),
    'Upload-Metadata': `filename ${b64('plan.txt')},conversation_id ${b64(String(conv.id))}` } });
  assert.equal(created.status, 201, created.text);
  const upId = created.headers.get('location').split('/').pop();
  const patch = (api, from, to) => api.req('PATCH', `/uploads/${upId}`, undefined, { raw: partial.subarray(from, to),
    headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(from) } });
  assert.equal((await patch(a, 0, half)).status, 204);

  const out = path.join(tmp, 'backup');
  const r = await srv.cliAsync(['backup', '--data', srv.storeDir, out]);
  assert.equal(r.status, 0, `backup: ${r.stdout} ${r.stderr}`);
  const man = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  assert.equal(man.store, PG ? 'postgresql' : 'sqlite');
  assert.ok(man.files.some((f) => f.path === (PG ? 'store.pgdump' : 'cordon.db')), JSON.stringify(man.files));
  assert.ok(man.blobs.count >= 1, 'the file\'s bytes are in the backup');
  assert.equal(man.uploads.count, 1, 'the upload in progress is in the backup');
  assert.ok(!r.stdout.includes('password') && !r.stderr.includes('password='), 'no secret printed');

  // wipe: the server, its database and its data directory (blobs) gone
  const { cordon } = srv;
  const aLogin = { login: a.login, password: a.password }, bLogin = { login: b.login, password: b.password };
  servers.splice(servers.indexOf(srv), 1);
  await srv.dispose();
  assert.ok(!fs.existsSync(srv.dataDir), 'the old data directory is gone');
  if (PG) assert.equal(psql(`SELECT count(*) FROM pg_database WHERE datname = '${srv.pg.name}'`), '0');

  const store = PG ? emptyDatabase('a') : null;
  const dir2 = path.join(tmp, 'restored');
  const rr = cli(cordon, ['restore', '--data', path.join(dir2, 'data'), out], store);
  assert.equal(rr.status, 0, `restore: ${rr.stdout} ${rr.stderr}`);
  assert.match(rr.stdout, /audit chain intact/);
  const srv2 = await Server.start({ cordon, dataDir: dir2, config: store ? { store } : undefined });
  servers.push(srv2);
  const la = await login(srv2.base, aLogin.login, aLogin.password);
  assert.equal(la.status, 200, `the account came back: ${la.text}`);
  const a2 = new Api(srv2.base, la.body.token);
  const got = (await allMessages(a2, conv.id)).map((m) => m.text);
  assert.deepEqual(got.filter((t) => texts.includes(t)).sort(), [...texts].sort(), 'every message is back');
  const lb = await login(srv2.base, bLogin.login, bLogin.password);
  assert.equal(lb.status, 200);
  const dl = await fetch(`${srv2.base}/api/v1/files/${up.file_id}`, { headers: { Authorization: `Bearer ${lb.body.token}` } });
  assert.equal(dl.status, 200, 'the file downloads from the restored server');
  assert.ok(Buffer.from(await dl.arrayBuffer()).equals(bytes), 'byte for byte');
  // the upload in progress goes on from where it was and finishes
  const head = await a2.req('HEAD', `/uploads/${upId}`, undefined, { headers: TUS });
  assert.equal(head.status, 200, head.text);
  assert.equal(head.headers.get('upload-offset'), String(half), 'the offset came back with the bytes');
  assert.equal((await patch(a2, half, partial.length)).status, 204);
  let fin;
  for (let i = 0; i < 300; i++) {
    fin = (await a2.get(`/uploads/${upId}`)).body;
    if (fin.state !== 'uploading' && fin.state !== 'inspecting') break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(fin.state, 'ready', JSON.stringify(fin));
  const dl2 = await fetch(`${srv2.base}/api/v1/files/${fin.file_id}`, { headers: { Authorization: `Bearer ${la.body.token}` } });
  assert.ok(Buffer.from(await dl2.arrayBuffer()).equals(partial), 'the finished upload is whole');
  const v = cli(cordon, ['audit', 'verify', '--data', path.join(dir2, 'data')], store);
  assert.equal(v.status, 0, `the restored audit chain: ${v.stdout} ${v.stderr}`);

  // a store that holds data is never overwritten
  const over = cli(cordon, ['restore', '--data', path.join(dir2, 'data'), out], store);
  assert.equal(over.status, 2);
  assert.match(over.stderr, /already holds a database/);

  // a manifest that names no database restores nothing (not an empty store)
  const nodb = path.join(tmp, 'nodb');
  fs.cpSync(out, nodb, { recursive: true });
  const mf = JSON.parse(fs.readFileSync(path.join(nodb, 'manifest.json'), 'utf8'));
  mf.files = mf.files.filter((x) => x.path !== (PG ? 'store.pgdump' : 'cordon.db'));
  fs.writeFileSync(path.join(nodb, 'manifest.json'), JSON.stringify(mf));
  const storeN = PG ? emptyDatabase('n') : null;
  const none = cli(cordon, ['restore', '--data', path.join(tmp, 'nodb-data', 'data'), nodb], storeN);
  assert.equal(none.status, 2, none.stdout);
  assert.match(none.stderr, /holds no database/);

  // a damaged blob: nothing restored
  const blobs = path.join(out, 'blobs', 'sha256');
  const fan = fs.readdirSync(blobs)[0];
  const blob = path.join(blobs, fan, fs.readdirSync(path.join(blobs, fan))[0]);
  const keep = fs.readFileSync(blob);
  fs.writeFileSync(blob, Buffer.concat([keep, Buffer.from('x')]));
  const store3 = PG ? emptyDatabase('b') : null;
  const dir3 = path.join(tmp, 'damaged');
  const bad = cli(cordon, ['restore', '--data', path.join(dir3, 'data'), out], store3);
  assert.equal(bad.status, 2, bad.stdout);
  assert.match(bad.stderr, /is damaged/);
  assert.ok(!fs.existsSync(path.join(dir3, 'data', 'cordon.db')), 'no database restored');
  if (PG) {
    const m = /^(postgres(?:ql)?:\/\/[^/]*\/)([^?]*)(.*)$/.exec(PG);
    const n = spawnSync('psql', [store3, '-qAtc', "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"], { encoding: 'utf8' });
    assert.equal(n.stdout.trim(), '0', `the database stays empty (${m ? 'ok' : ''})`);
  }
});
