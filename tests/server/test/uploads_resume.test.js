'use strict';
// tus-js-client (the client the web app uses) against the real server when
// things go wrong: the connection drops mid-body, then the server restarts;
// each time the client asks the server where it stands (HEAD) and goes on
// from that offset with the same upload (no new POST, no byte sent twice),
// and the file that arrives is the one that was sent. And the byte quota:
// a user whose unfinished uploads would pass `uploads.quota_bytes` is
// refused at creation (429), before a byte is sent.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const tus = require('tus-js-client');
const { world } = require('../lib/fixture.js');
const { conversation, assertError } = require('../lib/client.js');
const { sleep, SLOW } = require('../lib/server.js');
const { TUS, b64 } = require('../lib/uploads.js');

const MiB = 1024 * 1024;
const w = world({ a: {}, b: {}, q: {} }, { config: { uploads: { quota_bytes: 12 * MiB } } });

async function serverOffset(id) {
  const h = await w.a.req('HEAD', `/uploads/${id}`, undefined, { headers: TUS });
  assert.equal(h.status, 200, h.text);
  return Number(h.headers.get('upload-offset'));
}

// The offset once the server has written what arrived before the drop.
async function settledOffset(id) {
  let last = -1, now = await serverOffset(id);
  for (let i = 0; i < 100 && now !== last; i++) {
    await sleep(150);
    last = now;
    now = await serverOffset(id);
  }
  return now;
}

// Runs a tus-js-client upload until `stopAt` bytes were sent (then drops the
// connection: abort() destroys the request mid-body) or to the end.
// Records each request's method and Upload-Offset.
function run(opts, bytes, reqs, stopAt = Infinity) {
  return new Promise((resolve, reject) => {
    let up = null;
    let stopped = false;
    up = new tus.Upload(bytes, {
      headers: { Authorization: `Bearer ${w.a.token}` },
      chunkSize: 64 * MiB,
      retryDelays: null,
      ...opts,
      onBeforeRequest: (req) => { reqs.push({ m: req.getMethod(), off: req.getHeader('Upload-Offset') ?? null }); },
      onProgress: (sent) => {
        if (sent >= stopAt && !stopped) {
          stopped = true;
          up.abort(false).then(() => resolve({ up, done: false }), reject);
        }
      },
      onError: reject,
      onSuccess: () => resolve({ up, done: true }),
    });
    up.start();
  });
}

test('tus-js-client: a dropped connection, then a server restart: each time it resumes from the server\'s offset', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'tus resume' });
  const bytes = Buffer.from(crypto.randomBytes(3 * MiB).toString('hex')); // 6 MiB of text
  const reqs = [];
  const meta = { filename: 'survey.txt', conversation_id: String(conv.id), filetype: 'text/plain' };

  // 1. the connection drops after 1 MiB
  const first = await run({ endpoint: `${w.srv.base}/api/v1/uploads`, metadata: meta }, bytes, reqs, MiB);
  assert.equal(first.done, false);
  assert.deepEqual(reqs.map((r) => r.m), ['POST', 'PATCH'], JSON.stringify(reqs));
  const id = first.up.url.split('/').pop();
  const off1 = await settledOffset(id);
  assert.ok(off1 > 0 && off1 < bytes.length, `kept what arrived: ${off1}`);

  // 2. the same client starts again: HEAD, then PATCH at the server's offset; dropped again later
  reqs.length = 0;
  let stopped = false;
  const again = new Promise((resolve, reject) => {
    first.up.options.onProgress = (sent) => {
      if (sent >= 3 * MiB && !stopped) {
        stopped = true;
        first.up.abort(false).then(resolve, reject);
      }
    };
    first.up.options.onError = reject;
    first.up.options.onSuccess = () => reject(new Error('ended before the second drop'));
  });
  first.up.start();
  await again;
  assert.deepEqual(reqs.map((r) => r.m), ['HEAD', 'PATCH'], JSON.stringify(reqs));
  assert.equal(Number(reqs[1].off), off1, 'the PATCH starts where the server stood');
  const off2 = await settledOffset(id);
  assert.ok(off2 > off1 && off2 < bytes.length, `went on: ${off1} → ${off2}`);

  // 3. the server restarts; a new client given the upload's URL goes on from there
  await w.srv.restart();
  for (const api of [w.admin, w.a, w.b, w.q]) api.base = w.srv.base;
  const off3 = await serverOffset(id);
  assert.ok(off3 > 0 && off3 <= off2, `after the restart: ${off3} (before ${off2})`);
  reqs.length = 0;
  const last = await run({ uploadUrl: `${w.srv.base}/api/v1/uploads/${id}`, metadata: meta }, bytes, reqs);
  assert.equal(last.done, true);
  assert.deepEqual(reqs.map((r) => r.m), ['HEAD', 'PATCH'], JSON.stringify(reqs));
  assert.equal(Number(reqs[1].off), off3, 'the PATCH starts where the server stood after its restart');

  // the file is whole, and the same
  const end = Date.now() + 60000 * SLOW;
  let st;
  for (;;) {
    st = (await w.a.get(`/uploads/${id}`)).body;
    if (st.state !== 'uploading' && st.state !== 'inspecting') break;
    assert.ok(Date.now() < end, JSON.stringify(st));
    await sleep(100);
  }
  assert.equal(st.state, 'ready', JSON.stringify(st));
  const d = await fetch(`${w.srv.base}/api/v1/files/${st.file_id}`, { headers: { Authorization: `Bearer ${w.a.token}` } });
  assert.ok(Buffer.from(await d.arrayBuffer()).equals(bytes), 'the resumed file is whole and the same');
});

test('the byte quota: unfinished uploads past uploads.quota_bytes are refused at creation (429); finishing or ending one frees it', async () => {
  const conv = await conversation(w.q, [w.b], { title: 'quota' });
  const create = (len) => w.q.req('POST', '/uploads', undefined, {
    headers: { ...TUS, 'Upload-Length': String(len), 'Upload-Metadata': `filename ${b64('q.bin')},conversation_id ${b64(conv.id)}` },
  });
  const one = await create(8 * MiB);
  assert.equal(one.status, 201, one.text);
  const id = one.headers.get('location').split('/').pop();
  assertError(await create(5 * MiB), 429, 'upload_quota');
  // up to the quota exactly is fine
  const two = await create(4 * MiB);
  assert.equal(two.status, 201, two.text);
  assertError(await create(1), 429, 'upload_quota');
  assert.equal((await w.q.req('DELETE', `/uploads/${id}`, undefined, { headers: TUS })).status, 204);
  assert.equal((await create(5 * MiB)).status, 201, 'the ended upload no longer counts');
  // other users are not affected
  const other = await w.b.req('POST', '/uploads', undefined, {
    headers: { ...TUS, 'Upload-Length': String(8 * MiB), 'Upload-Metadata': `filename ${b64('b.bin')},conversation_id ${b64(conv.id)}` },
  });
  assert.equal(other.status, 201, other.text);
});
