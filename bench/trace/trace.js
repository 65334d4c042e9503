'use strict';
// Trace and contain at scale (docs/BENCH.md, "Trace and contain"): a
// message forwarded hop by hop into N groups, then
//   - GET /officer/spread of the tree (median of 20), next to the bare SQL
//     the store runs for it, timed by the sqlite3 CLI on the same database
//     file (the reference: what the query alone costs);
//   - the same for the file the message carries (GET /officer/spread?file_id=:
//     every message with the file's bytes, by content hash), next to the
//     store's file-spread query in the sqlite3 CLI;
//   - one POST /officer/contain of the whole tree (quarantine, restore,
//     remove by the file: each one writer transaction with its audit row;
//     the removal also deletes the file's blobs).
// usage: node bench/trace/trace.js [N=1000]   (CORDON=path/to/cordon)
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { Server } = require('../../tests/server/lib/server.js');
const { bootstrapAdmin, makeUser } = require('../../tests/server/lib/client.js');
const { uploadFile } = require('../../tests/server/lib/uploads.js');

const N = Number(process.argv[2] || 1000);
const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6;
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

(async () => {
  const srv = await Server.start({ config: { limits: { requests_per_second: 100000, burst: 100000 } } });
  try {
    const admin = await bootstrapAdmin(srv);
    const users = [];
    for (let i = 0; i < 10; i++) users.push(await makeUser(admin, { login: `t${i}` }));
    const off = await makeUser(admin, { login: 'off', role: 'officer' });
    const u = (k) => users[k % users.length];
    let t = process.hrtime.bigint();
    const groups = [];
    for (let k = 0; k < N; k++) {
      const g = await u(k).ok('POST', '/conversations', { kind: 'group', title: `g${k}`, member_ids: [u(k + 1).user.id, u(k + 2).user.id] }, 201);
      groups.push(g.id);
    }
    const up = await uploadFile(u(0), groups[0], Buffer.from('the drawing of the new site\n'.repeat(400)), 'site.txt');
    if (up.state !== 'ready') throw new Error(`upload: ${JSON.stringify(up)}`);
    const sent = await u(0).ok('POST', `/conversations/${groups[0]}/messages`, { client_id: 'bench-root', text: 'the drawing', attachments: [up.file_id] }, 201);
    let prev = sent.message.id;
    const root = prev;
    for (let k = 1; k < N; k++) {
      const f = await u(k).ok('POST', `/messages/${prev}/forward`, { conversation_ids: [groups[k]] }, 200);
      prev = f.results[0].message.id;
    }
    console.log(`setup: ${N} groups and ${N - 1} forwards in ${(ms(t) / 1000).toFixed(1)} s`);

    const api = [];
    for (let i = 0; i < 20; i++) {
      t = process.hrtime.bigint();
      const s = await off.ok('GET', `/officer/spread?message_id=${prev}`);
      api.push(ms(t));
      if (s.copies.length !== N) throw new Error(`spread has ${s.copies.length} copies`);
    }
    // the reference: the store's query alone, in the sqlite3 CLI (.timer: real time of the statement)
    const db = path.join(srv.storeDir, 'cordon.db');
    const sql = `SELECT m.id, m.conv_id, m.sender_id, m.created_at, m.recalled_at, m.forward_of, m.forward_depth, m.contained FROM messages m WHERE m.id = ${root} UNION ALL SELECT m.id, m.conv_id, m.sender_id, m.created_at, m.recalled_at, m.forward_of, m.forward_depth, m.contained FROM messages m WHERE m.forward_origin_id = ${root} AND m.id <> ${root} ORDER BY 1;`;
    const ref = [];
    for (let i = 0; i < 20; i++) {
      const r = spawnSync('sqlite3', ['-readonly', db], { input: `.timer on\n.output /dev/null\n${sql}\n`, encoding: 'utf8' });
      const m = /Run Time: real ([0-9.]+)/.exec(r.stdout + r.stderr);
      if (!m) throw new Error(`sqlite3: ${r.stdout}${r.stderr}`);
      ref.push(Number(m[1]) * 1000);
    }
    const a = median(api), b = median(ref);
    console.log(`spread of ${N} copies: API ${a.toFixed(1)} ms (median of 20, with members, readers and JSON) | sqlite3 CLI, the query alone ${b.toFixed(2)} ms | ratio ${(a / b).toFixed(1)}`);
    // the file's spread: every message carrying its bytes (store_file_spread)
    const fapi = [];
    for (let i = 0; i < 20; i++) {
      t = process.hrtime.bigint();
      const s = await off.ok('GET', `/officer/spread?file_id=${up.file_id}`);
      fapi.push(ms(t));
      if (s.copies.length !== N) throw new Error(`file spread has ${s.copies.length} copies`);
    }
    const fsql = `SELECT m.id, m.conv_id, m.sender_id, m.created_at, m.recalled_at, m.forward_of, m.forward_depth, m.contained FROM messages m WHERE m.id IN (SELECT mf.message_id FROM files f JOIN message_files mf ON mf.file_id = f.id WHERE f.hash = (SELECT hash FROM files WHERE id = '${up.file_id}')) ORDER BY m.id;`;
    const fref = [];
    for (let i = 0; i < 20; i++) {
      const r = spawnSync('sqlite3', ['-readonly', db], { input: `.timer on\n.output /dev/null\n${fsql}\n`, encoding: 'utf8' });
      const m = /Run Time: real ([0-9.]+)/.exec(r.stdout + r.stderr);
      if (!m) throw new Error(`sqlite3: ${r.stdout}${r.stderr}`);
      fref.push(Number(m[1]) * 1000);
    }
    const fa = median(fapi), fb = median(fref);
    console.log(`file spread of ${N} messages: API ${fa.toFixed(1)} ms (median of 20) | sqlite3 CLI, the query alone ${fb.toFixed(2)} ms | ratio ${(fa / fb).toFixed(1)}`);
    for (const action of ['quarantine', 'restore', 'remove']) {
      t = process.hrtime.bigint();
      // the removal by the file: every message with its bytes, then its blobs
      const body = action === 'remove' ? { file_id: up.file_id } : { message_id: prev };
      const r = await off.ok('POST', '/officer/contain', { ...body, reason: 'bench', scope: 'tree', action }, 200);
      console.log(`contain ${action} of the tree${action === 'remove' ? ' (by file)' : ''}: ${ms(t).toFixed(1)} ms, ${r.changed_count} copies in one transaction${action === 'remove' ? `, ${r.blobs_removed} blob(s) deleted` : ''}`);
    }
  } finally {
    await srv.dispose();
  }
})().catch((e) => { console.error(e); process.exit(1); });
