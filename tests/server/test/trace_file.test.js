'use strict';
// Officers trace and contain a FILE (docs/API.md, "Trace and contain"): a
// photo forwarded across 30 groups by 10 users — half of the groups reached
// from a second, separate upload of the same photo by someone else — is
// traced completely from either file id (files are traced by content hash)
// and contained in one action; every member's socket drops each copy live,
// nothing remains in history, and the blob store no longer holds the
// photo's bytes or its thumbnail (an unrelated file stays).
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { world, auditVerify } = require('../lib/fixture.js');
const { Ws, conversation, history, assertError, auditEntries } = require('../lib/client.js');
const { uploadFile } = require('../lib/uploads.js');

const N_USERS = 10;
const N_GROUPS = 30;
const HALF = N_GROUPS / 2;

// The photo: a 1024×768 gradient JPEG (big enough for a thumbnail), and an
// unrelated picture that must survive the containment.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-tracefile-'));
const gen = spawnSync('/usr/bin/python3', ['-c', `
import sys
from PIL import Image, ImageDraw
for name, w, h, tint in (("photo.jpg", 1024, 768, 40), ("other.jpg", 800, 600, 200)):
    img = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(img)
    for y in range(h):
        d.line((0, y, w, y), fill=(y % 256, tint, 255 - y % 256))
    img.save(sys.argv[1] + "/" + name, "JPEG", quality=85)
`, dir], { encoding: 'utf8' });
assert.equal(gen.status, 0, gen.stderr);
const PHOTO = fs.readFileSync(path.join(dir, 'photo.jpg'));
const OTHER = fs.readFileSync(path.join(dir, 'other.jpg'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const users = { off: { role: 'officer' }, staff: {} };
for (let i = 0; i < N_USERS; i++) users[`u${i}`] = {};
const w = world(users);
const u = (i) => w[`u${i % N_USERS}`];

const CAPTION = `site-photo-${process.pid}`;
const chain = { groups: [], copies: [], files: [] }; // copies[k]: the message in groups[k]
let keep = null; // the unrelated file's id and blobs

function sql(query) {
  const r = spawnSync('sqlite3', [path.join(w.srv.storeDir, 'cordon.db'), query], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

// Every committed blob on disk (blob_local.c: DIR/sha256/xx/HASH).
function blobFiles() {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/^[0-9a-f]{64}$/.test(e.name) && p.includes(`${path.sep}sha256${path.sep}`)) out.push(p);
    }
  };
  walk(w.srv.storeDir);
  return out.sort();
}

let n = 0;
function sendFiles(api, convId, ids, text) {
  return api.req('POST', `/conversations/${convId}/messages`, { client_id: `tf-${++n}`, attachments: ids, text });
}

async function download(api, fileId, thumb = false) {
  const r = await fetch(`${api.base}/api/v1/files/${fileId}${thumb ? '/thumbnail' : ''}`, { headers: { Authorization: `Bearer ${api.token}` } });
  await r.arrayBuffer();
  return r.status;
}

test('setup: a photo forwarded across 30 groups by 10 users, uploaded twice separately', async () => {
  for (let k = 0; k < N_GROUPS; k++) {
    chain.groups.push(await conversation(u(k), [u(k + 1), u(k + 2)], { title: `图片群 ${k}` }));
  }
  // an unrelated picture first: its blobs are what must stay
  const o = await uploadFile(u(0), chain.groups[0].id, OTHER, 'other.jpg');
  assert.equal(o.state, 'ready', JSON.stringify(o));
  assert.equal((await sendFiles(u(0), chain.groups[0].id, [o.file_id], 'unrelated')).status, 201);
  keep = { id: o.file_id, blobs: blobFiles() };
  assert.ok(keep.blobs.length >= 1, 'the unrelated picture is in the blob store');

  for (const start of [0, HALF]) {
    // u(start) uploads the same bytes: u0 in group 0, later u5 in group 15
    const up = await uploadFile(u(start), chain.groups[start].id, PHOTO, `IMG_${start}.jpg`);
    assert.equal(up.state, 'ready', JSON.stringify(up));
    chain.files.push(up.file_id);
    const r = await sendFiles(u(start), chain.groups[start].id, [up.file_id], `${CAPTION} ${start}`);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.message.attachments[0].thumbnail, true, 'the photo has a thumbnail');
    chain.copies.push(r.body.message);
    for (let k = start + 1; k < start + HALF; k++) {
      const f = await u(k).ok('POST', `/messages/${chain.copies[k - 1].id}/forward`, { conversation_ids: [chain.groups[k].id] }, 200);
      assert.equal(f.results[0].status, 201, JSON.stringify(f.results[0]));
      chain.copies.push(f.results[0].message);
    }
  }
  assert.notEqual(chain.files[0], chain.files[1], 'two uploads, two file ids');
  // u(k+2) opens the copy in group k for even k
  for (let k = 0; k < N_GROUPS; k += 2) {
    await u(k + 2).ok('POST', `/conversations/${chain.groups[k].id}/read`, { message_id: chain.copies[k].id }, 204);
  }
  assert.ok(blobFiles().length >= keep.blobs.length + 2, 'photo and thumbnail are stored');
});

test('staff cannot trace or contain a file (403); unknown files are 404', async () => {
  for (const who of [w.staff, u(3)]) {
    assertError(await who.get(`/officer/spread?file_id=${chain.files[0]}`), 403, 'forbidden');
    assertError(await who.post('/officer/contain', { file_id: chain.files[0], reason: 'x', scope: 'tree' }), 403, 'forbidden');
  }
  assertError(await w.off.get('/officer/spread?file_id=0123456789abcdef'), 404, 'not_found');
  assertError(await w.off.get('/officer/spread?file_id=..%2F..%2Fetc'), 404, 'not_found');
  assertError(await w.off.get(`/officer/spread?file_id=${chain.files[0]}&message_id=1`), 400, 'bad_request');
  assertError(await w.off.post('/officer/contain', { file_id: 'nope-nope', reason: 'x' }), 404, 'not_found');
  assertError(await w.off.post('/officer/contain', { file_id: chain.files[0], message_id: 1, reason: 'x' }), 400, 'bad_request');
  assertError(await w.off.post('/officer/contain', { file_id: chain.files[0], scope: 'tree' }), 400, 'reason_required');
});

test('the spread of the file from either upload: all 30 copies, both origins, forwarders, recipients, readers', async () => {
  for (const fid of chain.files) {
    const s = await w.off.ok('GET', `/officer/spread?file_id=${fid}`);
    assert.equal(s.file.id, fid);
    assert.equal(s.file.mime, 'image/jpeg');
    assert.equal(s.file.image, true);
    assert.equal(s.truncated, false);
    assert.deepEqual(s.totals, { copies: N_GROUPS, origins: 2, conversations: N_GROUPS, recipients: N_USERS, readers: N_USERS / 2 });
    assert.equal(s.copies.length, N_GROUPS);
    for (let k = 0; k < N_GROUPS; k++) {
      const c = s.copies[k];
      const start = k < HALF ? 0 : HALF;
      assert.equal(c.message_id, chain.copies[k].id, `copy ${k} in order`);
      assert.deepEqual(c.conversation, { id: chain.groups[k].id, kind: 'group', title: `图片群 ${k}`, external: false });
      assert.equal(c.sender_id, u(k).user.id, 'the forwarder (or the uploader)');
      assert.equal(c.origin_id, chain.copies[start].id);
      assert.equal(c.parent_id, k === start ? null : chain.copies[k - 1].id);
      assert.equal(c.depth, k - start);
      assert.deepEqual(c.file_ids, [chain.files[start / HALF]]);
      assert.equal(c.state, 'visible');
      assert.deepEqual(c.recipients.sort((a, b) => a - b), [u(k + 1).user.id, u(k + 2).user.id].sort((a, b) => a - b));
      assert.deepEqual(c.read_by, k % 2 === 0 ? [u(k + 2).user.id] : []);
    }
    assert.ok(!JSON.stringify(s).includes(CAPTION), 'a spread carries no content');
  }
  // the unrelated picture's spread is its own message only
  const o = await w.off.ok('GET', `/officer/spread?file_id=${keep.id}`);
  assert.equal(o.totals.copies, 1);
});

test('scope copy with a file id contains that upload\'s messages only (quarantine, then restore)', async () => {
  const q = await w.off.ok('POST', '/officer/contain', { file_id: chain.files[1], reason: '先隔离第二次上传', scope: 'copy', action: 'quarantine' }, 200);
  assert.equal(q.file_id, chain.files[1]);
  assert.equal(q.changed_count, HALF);
  assert.deepEqual(q.changed.map((x) => x.message_id), chain.copies.slice(HALF).map((m) => m.id));
  const s = await w.off.ok('GET', `/officer/spread?file_id=${chain.files[0]}`);
  assert.deepEqual(s.copies.map((c) => c.state), [...Array(HALF).fill('visible'), ...Array(HALF).fill('quarantined')]);
  const r = await w.off.ok('POST', '/officer/contain', { file_id: chain.files[1], reason: '核查后恢复', scope: 'copy', action: 'restore' }, 200);
  assert.equal(r.changed_count, HALF);
  assert.equal(r.blobs_removed, 0, 'a quarantine keeps the bytes for review');
  assert.equal(await download(u(HALF + 1), chain.files[1]), 200, 'restored: members open it again');
});

test('one action on the file removes every copy from every conversation, client and the blob store', async () => {
  const socks = [];
  for (let i = 0; i < N_USERS; i++) socks.push({ i, ws: await Ws.open(u(i)) });
  try {
    // a third copy of the bytes, uploaded and inspected but not sent yet
    const pending = await uploadFile(u(7), chain.groups[7].id, PHOTO, 'pending.jpg');
    assert.equal(pending.state, 'ready', JSON.stringify(pending));
    assert.equal(await download(u(1), chain.files[0]), 200, 'before: members open the photo');
    assert.equal(await download(u(1), chain.files[0], true), 200, 'and its thumbnail');
    // the officer is a member of none of the 30 groups
    const c = await w.off.ok('POST', '/officer/contain', { file_id: chain.files[0], reason: '现场照片外泄，全部撤回', scope: 'tree', action: 'remove' }, 200);
    assert.equal(c.action, 'remove');
    assert.equal(c.scope, 'tree');
    assert.equal(c.file_id, chain.files[0]);
    assert.equal(c.copies, N_GROUPS);
    assert.equal(c.changed_count, N_GROUPS);
    assert.ok(c.blobs_removed >= 2, `photo and thumbnail: ${c.blobs_removed}`);
    assert.deepEqual(c.changed.map((x) => x.message_id).sort((a, b) => a - b), chain.copies.map((m) => m.id).sort((a, b) => a - b));
    // every member's client drops each copy it holds, live
    for (const { i, ws } of socks) {
      for (let k = 0; k < N_GROUPS; k++) {
        if (![k, k + 1, k + 2].some((x) => x % N_USERS === i)) continue;
        const m = chain.copies[k];
        const ev = await ws.waitType('message.recalled', (e) => e.message_id === m.id);
        assert.deepEqual(ev, { type: 'message.recalled', conversation_id: m.conversation_id, message_id: m.id, by: 'officer', contained: 'removed' });
      }
    }
    // nothing in history: no caption, no attachment, for any member
    for (let k = 0; k < N_GROUPS; k++) {
      for (const reader of [u(k), u(k + 1), u(k + 2)]) {
        const h = await history(reader, chain.groups[k].id);
        assert.ok(!h.text.includes(CAPTION), `no caption in group ${k}`);
        for (const fid of chain.files) assert.ok(!h.text.includes(fid), `no attachment in group ${k}`);
        const m = h.body.messages.find((x) => x.id === chain.copies[k].id);
        assert.deepEqual([m.text, m.recalled, m.contained, m.attachments || []], [null, true, 'removed', []]);
      }
    }
    for (let i = 0; i < N_USERS; i++) {
      assert.ok(!JSON.stringify(await u(i).ok('GET', '/conversations')).includes(CAPTION), 'nor in any conversation list');
    }
    for (const fid of chain.files) {
      assert.equal(await download(u(1), fid), 404);
      assert.equal(await download(u(1), fid, true), 404);
      assert.equal(await download(w.off, fid), 404, 'nor for an officer');
    }
    // the blob store holds exactly the unrelated picture's blobs again
    assert.deepEqual(blobFiles(), keep.blobs);
    assert.equal(await download(u(1), keep.id), 200, 'the unrelated picture stays');
    assert.equal(sql(`SELECT count(*) FROM files WHERE id IN ('${[...chain.files, pending.file_id].join("','")}')`), '0');
    assert.equal((await u(7).get(`/uploads/${pending.id}`)).status, 404, 'the unsent upload of the bytes is gone too');
    assert.equal(sql('SELECT count(*) FROM blobs'), String(keep.blobs.length));
    assert.equal(sql(`SELECT count(*) FROM messages WHERE body LIKE '%${CAPTION}%'`), '0');
    // the file is gone; its messages still trace as removed
    assertError(await w.off.get(`/officer/spread?file_id=${chain.files[0]}`), 404, 'not_found');
    const s = await w.off.ok('GET', `/officer/spread?message_id=${chain.copies[3].id}`);
    assert.ok(s.copies.every((x) => x.state === 'removed'));
  } finally {
    for (const { ws } of socks) await ws.close();
  }
});

test('a message containment removes its files too (the original photo of a message tree)', async () => {
  const g = await conversation(u(0), [u(1)], { title: 'by message' });
  const h = await conversation(u(1), [u(2)], { title: 'by message 2' });
  const before = blobFiles();
  const up = await uploadFile(u(0), g.id, PHOTO, 'again.jpg');
  const r = await sendFiles(u(0), g.id, [up.file_id], 'again');
  assert.equal(r.status, 201, r.text);
  await u(1).ok('POST', `/messages/${r.body.message.id}/forward`, { conversation_ids: [h.id] }, 200);
  assert.ok(blobFiles().length > before.length);
  const c = await w.off.ok('POST', '/officer/contain', { message_id: r.body.message.id, reason: '同一照片再次出现', scope: 'tree', action: 'remove' }, 200);
  assert.equal(c.changed_count, 2);
  assert.deepEqual(blobFiles(), before);
  assert.equal(await download(u(2), up.file_id), 404);
});

test('every file trace and containment is audited with its reason and what changed', async () => {
  const entries = await auditEntries(w.admin);
  const removal = entries.find((e) => e.event === 'officer.contain' && e.detail.reason === '现场照片外泄，全部撤回');
  assert.ok(removal, JSON.stringify(entries.filter((e) => e.event === 'officer.contain').map((e) => e.detail)));
  assert.equal(removal.target, `file:${chain.files[0]}`);
  assert.equal(removal.detail.file, chain.files[0]);
  assert.equal(removal.detail.changed.length, N_GROUPS);
  assert.ok(removal.detail.blobs_removed >= 2);
  assert.ok(entries.some((e) => e.event === 'officer.spread' && e.target === `file:${chain.files[1]}`));
  assert.ok(!JSON.stringify(entries).includes(CAPTION), 'the audit log keeps no removed text');
  const v = await w.admin.ok('GET', '/audit/verify');
  assert.equal(v.ok, true, JSON.stringify(v));
  auditVerify(w.srv);
});
