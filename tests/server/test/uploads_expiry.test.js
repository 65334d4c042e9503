'use strict';
// Abandoned uploads expire (uploads.expiry_seconds, 1 s here): HEAD and
// PATCH answer 410 at once, and the bytes leave the disk (at the next
// housekeeping; here at the next start, which expires what is due).
// A member removed from the conversation can no longer add to an upload.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { world } = require('../lib/fixture.js');
const { conversation, assertError } = require('../lib/client.js');
const { sleep } = require('../lib/server.js');

const w = world({ a: {}, b: {} }, { config: { uploads: { expiry_seconds: 2 } } });
const b64 = (s) => Buffer.from(String(s)).toString('base64');
const TUS = { 'Tus-Resumable': '1.0.0' };

function staging(srv) {
  const d = path.join(srv.dataDir, 'data', 'blobs', 'staging');
  return fs.existsSync(d) ? fs.readdirSync(d) : [];
}

async function create(api, convId, length) {
  const r = await api.req('POST', '/uploads', undefined, {
    headers: { ...TUS, 'Upload-Length': String(length), 'Upload-Metadata': `filename ${b64('e.txt')},conversation_id ${b64(convId)}` },
  });
  assert.equal(r.status, 201, r.text);
  return r.headers.get('location').split('/').pop();
}

function patch(api, id, offset, bytes) {
  return api.req('PATCH', `/uploads/${id}`, undefined, {
    raw: bytes, headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset) },
  });
}

test('a removed member cannot go on with an upload', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'removed' });
  const id = await create(w.b, conv.id, 100);
  assert.equal((await patch(w.b, id, 0, Buffer.alloc(10, 65))).status, 204);
  await w.a.ok('DELETE', `/conversations/${conv.id}/members/${w.b.user.id}`, undefined, [200, 204]);
  assertError(await patch(w.b, id, 10, Buffer.alloc(10, 65)), 404, 'not_found');
});

test('an abandoned upload expires and its bytes are removed', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'expiry' });
  const id = await create(w.a, conv.id, 1000);
  assert.equal((await patch(w.a, id, 0, Buffer.alloc(300, 66))).status, 204);
  assert.ok(staging(w.srv).includes(id), 'the bytes are staged');
  await sleep(2500);
  assert.equal((await w.a.req('HEAD', `/uploads/${id}`, undefined, { headers: TUS })).status, 410);
  assertError(await patch(w.a, id, 300, Buffer.alloc(10, 66)), 410, 'upload_expired');
  await w.srv.restart();
  for (const api of [w.admin, w.a, w.b]) api.base = w.srv.base;
  assert.ok(!staging(w.srv).includes(id), 'the bytes are gone');
  assert.equal((await w.a.req('HEAD', `/uploads/${id}`, undefined, { headers: TUS })).status, 404);
});
