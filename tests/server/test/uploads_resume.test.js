'use strict';
// tus-js-client (the client the web app uses) against the real server when
// things go wrong: the connection drops mid-body, then the server restarts;
// each time the client asks the server where it stands (HEAD) and goes on
// from that offset with the same upload (no new POST, no byte sent twice),
// and the file that arrives is the one that was sent. And the byte quota:
// a user whose unfinished uploads would pass `uploads.quota_bytes` is
// refused at creation (429), before a byte is sent. And a body that is
// still arriving holds no request worker: with more half-sent PATCHes open
// than the server has workers, everything else is still answered.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const tus = require('tus-js-client');
const { world } = require('../lib/fixture.js');
const { conversation, assertError } = require('../lib/client.js');
const { sleep, SLOW } = require('../lib/server.js');
const { TUS, b64 } = require('../lib/uploads.js');

const MiB = 1024 * 1024;
// two request workers: more unfinished bodies than workers below
const w = world({ a: {}, b: {}, q: {} }, { config: { workers: 2, uploads: { quota_bytes: 64 * MiB } } });

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
  // 40 MiB of text: far more than the loopback's socket buffers hold, so a
  // drop after some MiB really is mid-body
  const bytes = Buffer.from(crypto.randomBytes(20 * MiB).toString('hex'));
  const reqs = [];
  const meta = { filename: 'survey.txt', conversation_id: String(conv.id), filetype: 'text/plain' };

  // 1. the connection drops after 4 MiB
  const first = await run({ endpoint: `${w.srv.base}/api/v1/uploads`, metadata: meta }, bytes, reqs, 4 * MiB);
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
      if (sent >= 16 * MiB && !stopped) {
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
  const one = await create(40 * MiB);
  assert.equal(one.status, 201, one.text);
  const id = one.headers.get('location').split('/').pop();
  assertError(await create(30 * MiB), 429, 'upload_quota');
  // up to the quota exactly is fine
  const two = await create(24 * MiB);
  assert.equal(two.status, 201, two.text);
  assertError(await create(1), 429, 'upload_quota');
  assert.equal((await w.q.req('DELETE', `/uploads/${id}`, undefined, { headers: TUS })).status, 204);
  assert.equal((await create(30 * MiB)).status, 201, 'the ended upload no longer counts');
  // other users are not affected
  const other = await w.b.req('POST', '/uploads', undefined, {
    headers: { ...TUS, 'Upload-Length': String(40 * MiB), 'Upload-Metadata': `filename ${b64('b.bin')},conversation_id ${b64(conv.id)}` },
  });
  assert.equal(other.status, 201, other.text);
});

test('bodies still arriving hold no worker: four half-sent PATCHes, two workers, the chat goes on', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'streams' });
  const total = 2 * MiB;
  const open = [];
  try {
    for (let i = 0; i < 4; i++) {
      const c = await w.a.req('POST', '/uploads', undefined, {
        headers: { ...TUS, 'Upload-Length': String(total), 'Upload-Metadata': `filename ${b64(`s${i}.txt`)},conversation_id ${b64(conv.id)}` },
      });
      assert.equal(c.status, 201, c.text);
      const id = c.headers.get('location').split('/').pop();
      const u = new URL(`${w.srv.base}/api/v1/uploads/${id}`);
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'PATCH', headers: {
        Authorization: `Bearer ${w.a.token}`, ...TUS, 'Content-Type': 'application/offset+octet-stream',
        'Upload-Offset': '0', 'Content-Length': String(total) } });
      const done = new Promise((resolve, reject) => {
        req.on('response', (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
        req.on('error', reject);
      });
      done.catch(() => {}); // awaited below; a failure before that is the test's own
      req.write(Buffer.alloc(256 * 1024, 97));
      open.push({ id, req, done });
    }
    // every body has begun to arrive, none has ended
    for (const o of open) {
      let off = 0;
      for (let i = 0; i < 100 && off === 0; i++) { await sleep(50); off = await serverOffset(o.id); }
      assert.ok(off > 0 && off < total, `${o.id}: ${off}`);
    }
    // meanwhile: reads, a message sent and read back
    assert.equal((await w.b.get('/conversations')).status, 200);
    const m = await w.b.post(`/conversations/${conv.id}/messages`, { client_id: 'streams-1', text: 'still here' });
    assert.equal(m.status, 201, m.text);
    const h = await w.a.get(`/conversations/${conv.id}/messages`);
    assert.ok(h.body.messages.some((x) => x.id === m.body.message.id));
    // the bodies end; every upload is whole
    for (const o of open) o.req.end(Buffer.alloc(total - 256 * 1024, 97));
    for (const o of open) assert.equal(await o.done, 204);
    for (const o of open) assert.equal(await serverOffset(o.id), total);
  } finally {
    for (const o of open) o.req.destroy();
  }
});
