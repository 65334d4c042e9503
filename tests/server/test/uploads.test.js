'use strict';
// tus 1.0 uploads at /api/v1/uploads against the real server: creation and
// its refusals, offsets, checksums, termination, resume after a dropped
// connection and after a restart, inspection and what is delivered
// (a GPS photo without its location), with curl, raw HTTP and tus-js-client.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawnSync, execFile } = require('node:child_process');
const { world } = require('../lib/fixture.js');
const { conversation, assertError, Ws } = require('../lib/client.js');
const { sleep, SLOW, ROOT } = require('../lib/server.js');

const w = world({ a: {}, b: {}, c: {} }, { config: { uploads: { max_size: 8 * 1024 * 1024, max_active: 4 } } });

const b64 = (s) => Buffer.from(String(s)).toString('base64');
const meta = (o) => Object.entries(o).map(([k, v]) => `${k} ${b64(v)}`).join(',');
const TUS = { 'Tus-Resumable': '1.0.0' };

async function create(api, convId, length, name = 'a.txt', extra = {}) {
  return api.req('POST', '/uploads', undefined, {
    headers: { ...TUS, 'Upload-Length': String(length), 'Upload-Metadata': meta({ filename: name, conversation_id: convId, ...extra }) },
  });
}

function idOf(r) {
  const loc = r.headers.get('location');
  assert.match(loc || '', /^\/api\/v1\/uploads\/[0-9a-f]{32}$/, `Location: ${loc}`);
  return loc.split('/').pop();
}

async function patch(api, id, offset, bytes, headers = {}) {
  return api.req('PATCH', `/uploads/${id}`, undefined, {
    raw: bytes,
    headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset), ...headers },
  });
}

async function head(api, id) {
  return api.req('HEAD', `/uploads/${id}`, undefined, { headers: TUS });
}

async function waitState(api, id, pred = (s) => s.state !== 'uploading' && s.state !== 'inspecting') {
  const end = Date.now() + 60000 * SLOW;
  for (;;) {
    const r = await api.get(`/uploads/${id}`);
    assert.equal(r.status, 200, r.text);
    if (pred(r.body)) return r.body;
    assert.ok(Date.now() < end, `upload state stuck: ${r.text}`);
    await sleep(100);
  }
}

async function upload(api, convId, bytes, name) {
  const c = await create(api, convId, bytes.length, name);
  assert.equal(c.status, 201, c.text);
  const id = idOf(c);
  const p = await patch(api, id, 0, bytes);
  assert.equal(p.status, 204, p.text);
  assert.equal(p.headers.get('upload-offset'), String(bytes.length));
  return id;
}

test('OPTIONS tells the tus capabilities', async () => {
  const r = await w.a.req('OPTIONS', '/uploads', undefined, { headers: {} });
  assert.equal(r.status, 204, r.text);
  assert.equal(r.headers.get('tus-version'), '1.0.0');
  assert.equal(r.headers.get('tus-resumable'), '1.0.0');
  assert.equal(r.headers.get('tus-max-size'), String(8 * 1024 * 1024));
  for (const e of ['creation', 'creation-with-upload', 'expiration', 'checksum', 'termination'])
    assert.ok(r.headers.get('tus-extension').split(',').includes(e), e);
  assert.deepEqual(r.headers.get('tus-checksum-algorithm').split(',').sort(), ['sha1', 'sha256']);
});

test('a file in two chunks: offsets, HEAD, inspection, download of the same bytes', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'files' });
  const data = crypto.randomBytes(700 * 1024).toString('hex').slice(0, 900 * 1024); // text, 900 KiB
  const bytes = Buffer.from(data);
  const c = await create(w.a, conv.id, bytes.length, 'notes.txt');
  assert.equal(c.status, 201, c.text);
  assert.equal(c.headers.get('tus-resumable'), '1.0.0');
  assert.ok(c.headers.get('upload-expires'), 'Upload-Expires');
  const id = idOf(c);
  let h = await head(w.a, id);
  assert.equal(h.status, 200);
  assert.equal(h.headers.get('upload-offset'), '0');
  assert.equal(h.headers.get('upload-length'), String(bytes.length));
  assert.equal(h.headers.get('cache-control'), 'no-store');

  const half = 300 * 1024 + 7;
  let p = await patch(w.a, id, 0, bytes.subarray(0, half));
  assert.equal(p.status, 204, p.text);
  assert.equal(p.headers.get('upload-offset'), String(half));
  // the wrong offset: 409, nothing written
  p = await patch(w.a, id, 0, bytes.subarray(0, 10));
  assert.equal(p.status, 409, p.text);
  h = await head(w.a, id);
  assert.equal(h.headers.get('upload-offset'), String(half));
  // someone else's upload does not exist for them
  assert.equal((await head(w.b, id)).status, 404);
  assert.equal((await patch(w.b, id, half, bytes.subarray(half))).status, 404);
  assert.equal((await w.b.get(`/uploads/${id}`)).status, 404);

  p = await patch(w.a, id, half, bytes.subarray(half));
  assert.equal(p.status, 204, p.text);
  assert.equal(p.headers.get('upload-offset'), String(bytes.length));
  const st = await waitState(w.a, id);
  assert.equal(st.state, 'ready', JSON.stringify(st));
  assert.equal(st.verdict, 'allow');
  assert.equal(st.offset, bytes.length);
  assert.equal(st.filename, 'notes.txt');
  assert.match(st.file_id, /^[0-9a-f]{32}$/);
  // no more bytes once finished
  assert.equal((await patch(w.a, id, bytes.length, Buffer.from('x'))).status, 409);

  // the uploader may fetch their own file before sending it; nobody else
  const d = await fetch(`${w.srv.base}/api/v1/files/${st.file_id}`, { headers: { Authorization: `Bearer ${w.a.token}` } });
  assert.equal(d.status, 200);
  assert.equal(d.headers.get('x-content-type-options'), 'nosniff');
  assert.match(d.headers.get('content-disposition'), /^attachment; filename="notes.txt"; filename\*=UTF-8''notes.txt$/);
  assert.ok(Buffer.from(await d.arrayBuffer()).equals(bytes), 'the same bytes');
  const rg = await fetch(`${w.srv.base}/api/v1/files/${st.file_id}`, { headers: { Authorization: `Bearer ${w.a.token}`, Range: 'bytes=10-19' } });
  assert.equal(rg.status, 206);
  assert.equal(rg.headers.get('content-range'), `bytes 10-19/${bytes.length}`);
  assert.equal(Buffer.from(await rg.arrayBuffer()).toString(), data.slice(10, 20));
  for (const who of [w.b, w.c]) {
    const r = await who.get(`/files/${st.file_id}`);
    assert.equal(r.status, 404, 'not sent yet: nobody else sees it');
  }
  assert.equal((await w.c.get('/files/0123456789abcdef0123456789abcdef')).status, 404);
});

// A PATCH the server refuses before reading its body (not the sender's
// upload) still reads and drops the body: the client gets its 404 instead of
// EPIPE / "other side closed", and the connection serves the next request.
test('a refused PATCH gets its answer and the connection lives on', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'refused patch' });
  const c = await create(w.a, conv.id, 2 * 1024 * 1024, 'big.bin');
  assert.equal(c.status, 201, c.text);
  const id = idOf(c);
  const url = new URL(w.srv.base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const send = (method, p, headers, body) => new Promise((resolve, reject) => {
    const rq = http.request({ host: url.hostname, port: url.port, method, path: p, agent, headers }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts).toString(), reused: rq.reusedSocket }));
    });
    rq.on('error', reject);
    rq.end(body);
  });
  try {
    const body = crypto.randomBytes(1536 * 1024);
    for (let i = 0; i < 2; i++) {
      const r = await send('PATCH', `/api/v1/uploads/${id}`, {
        ...TUS, Authorization: `Bearer ${w.b.token}`, 'Content-Type': 'application/offset+octet-stream',
        'Upload-Offset': '0', 'Content-Length': String(body.length),
      }, body);
      assert.equal(r.status, 404, r.body);
      assert.equal(JSON.parse(r.body).error.code, 'not_found', r.body);
      assert.equal(r.reused, i > 0, 'the second PATCH reuses the connection of the first');
    }
    const h = await send('HEAD', `/api/v1/uploads/${id}`, { ...TUS, Authorization: `Bearer ${w.a.token}` });
    assert.equal(h.status, 200);
    assert.ok(h.reused, 'the same connection answers the owner next');
    assert.equal((await head(w.a, id)).headers.get('upload-offset'), '0', 'nothing of the refused body was written');
  } finally {
    agent.destroy();
  }
});

test('refused at creation: too large 413, refused type 415, quota 429, not a member 404', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'limits' });
  assertError(await create(w.a, conv.id, 8 * 1024 * 1024 + 1), 413, 'upload_too_large');
  assertError(await create(w.a, conv.id, 100, 'setup.exe'), 415, 'upload_type_refused');
  assertError(await create(w.c, conv.id, 100), 404, 'not_found');
  const bad = await w.a.req('POST', '/uploads', undefined, { headers: { ...TUS, 'Upload-Length': '10', 'Upload-Metadata': 'filename !!!' } });
  assert.equal(bad.status, 400, bad.text);
  const ids = [];
  for (let i = 0; i < 4; i++) {
    const r = await create(w.b, conv.id, 10, `f${i}.txt`);
    assert.equal(r.status, 201, r.text);
    ids.push(idOf(r));
  }
  assertError(await create(w.b, conv.id, 10), 429, 'upload_quota');
  // termination frees the place and removes the upload
  const del = await w.b.req('DELETE', `/uploads/${ids[0]}`, undefined, { headers: TUS });
  assert.equal(del.status, 204, del.text);
  assert.equal((await head(w.b, ids[0])).status, 404);
  assert.equal((await patch(w.b, ids[0], 0, Buffer.from('0123456789'))).status, 404);
  assert.equal((await create(w.b, conv.id, 10)).status, 201);
  for (const id of ids.slice(1)) await w.b.req('DELETE', `/uploads/${id}`, undefined, { headers: TUS });
});

test('checksums: sha1 and sha256 accepted, a mismatch is 460 and the chunk dropped', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'sums' });
  const bytes = Buffer.from('hello checksum world, '.repeat(1000));
  const id = idOf(await create(w.a, conv.id, bytes.length, 'sum.txt'));
  const part = bytes.subarray(0, 5000);
  const sha1 = crypto.createHash('sha1').update(part).digest('base64');
  let p = await patch(w.a, id, 0, part, { 'Upload-Checksum': `sha1 ${sha1}` });
  assert.equal(p.status, 204, p.text);
  const rest = bytes.subarray(5000);
  const wrong = crypto.createHash('sha256').update('something else').digest('base64');
  p = await patch(w.a, id, 5000, rest, { 'Upload-Checksum': `sha256 ${wrong}` });
  assert.equal(p.status, 460, p.text);
  assert.equal((await head(w.a, id)).headers.get('upload-offset'), '5000', 'the chunk was dropped');
  p = await patch(w.a, id, 5000, rest, { 'Upload-Checksum': `md5 ${wrong}` });
  assert.equal(p.status, 400, p.text);
  const good = crypto.createHash('sha256').update(rest).digest('base64');
  p = await patch(w.a, id, 5000, rest, { 'Upload-Checksum': `sha256 ${good}` });
  assert.equal(p.status, 204, p.text);
  assert.equal((await waitState(w.a, id)).state, 'ready');
});

// A PATCH that sends `send` bytes of a longer body and then drops.
function droppedPatch(base, token, id, offset, body, send) {
  return new Promise((resolve) => {
    const u = new URL(`${base}/api/v1/uploads/${id}`);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'PATCH', headers: {
      Authorization: `Bearer ${token}`, 'Tus-Resumable': '1.0.0', 'Content-Type': 'application/offset+octet-stream',
      'Upload-Offset': String(offset), 'Content-Length': String(body.length) } });
    req.on('error', () => resolve());
    req.write(body.subarray(0, send), () => setTimeout(() => { req.destroy(); resolve(); }, 300));
  });
}

test('a dropped connection keeps what arrived; a restart keeps it too; the rest resumes', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'resume' });
  const bytes = Buffer.from(crypto.randomBytes(1024 * 1024).toString('base64').slice(0, 1200 * 1024));
  const id = idOf(await create(w.a, conv.id, bytes.length, 'resume.txt'));
  await droppedPatch(w.srv.base, w.a.token, id, 0, bytes, 600 * 1024);
  let off = 0;
  for (let i = 0; i < 50 && off === 0; i++) {
    await sleep(100);
    off = Number((await head(w.a, id)).headers.get('upload-offset'));
  }
  assert.ok(off > 0 && off <= 600 * 1024, `offset after the drop: ${off}`);
  // restart: the offset survives (the staging file is on disk)
  await w.srv.restart();
  for (const api of [w.admin, w.a, w.b, w.c]) api.base = w.srv.base;
  const after = Number((await head(w.a, id)).headers.get('upload-offset'));
  assert.ok(after > 0 && after <= off, `offset after restart ${after} (before ${off})`);
  const p = await patch(w.a, id, after, bytes.subarray(after));
  assert.equal(p.status, 204, p.text);
  const st = await waitState(w.a, id);
  assert.equal(st.state, 'ready');
  const d = await fetch(`${w.srv.base}/api/v1/files/${st.file_id}`, { headers: { Authorization: `Bearer ${w.a.token}` } });
  assert.ok(Buffer.from(await d.arrayBuffer()).equals(bytes), 'the resumed file is whole and the same');
});

test('curl: creation-with-upload and a PATCH from a file', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'curl' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-up-'));
  const f = path.join(dir, 'c.txt');
  const bytes = Buffer.from('curl was here\n'.repeat(5000));
  fs.writeFileSync(f, bytes);
  const first = 20000;
  fs.writeFileSync(f + '.1', bytes.subarray(0, first));
  fs.writeFileSync(f + '.2', bytes.subarray(first));
  const auth = `Authorization: Bearer ${w.a.token}`;
  let r = spawnSync('curl', ['-sS', '-i', '-X', 'POST', '-H', auth, '-H', 'Tus-Resumable: 1.0.0',
    '-H', `Upload-Length: ${bytes.length}`, '-H', `Upload-Metadata: ${meta({ filename: 'c.txt', conversation_id: conv.id })}`,
    '-H', 'Content-Type: application/offset+octet-stream', '--data-binary', `@${f}.1`, `${w.srv.base}/api/v1/uploads`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^HTTP\/1.1 201/m, r.stdout);
  assert.match(r.stdout, new RegExp(`^upload-offset: ${first}\\r?$`, 'mi'), r.stdout);
  const loc = /^location: (\S+)/mi.exec(r.stdout)[1];
  r = spawnSync('curl', ['-sS', '-i', '-X', 'PATCH', '-H', auth, '-H', 'Tus-Resumable: 1.0.0', '-H', `Upload-Offset: ${first}`,
    '-H', 'Content-Type: application/offset+octet-stream', '--data-binary', `@${f}.2`, `${w.srv.base}${loc}`], { encoding: 'utf8' });
  assert.match(r.stdout, /^HTTP\/1.1 204/m, r.stdout);
  assert.match(r.stdout, new RegExp(`^upload-offset: ${bytes.length}\\r?$`, 'mi'));
  const st = await waitState(w.a, loc.split('/').pop());
  assert.equal(st.state, 'ready');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('tus-js-client uploads a file in 256 KiB chunks (its resume after a drop and a restart: uploads_resume.test.js)', async () => {
  const tus = require('tus-js-client');
  const conv = await conversation(w.a, [w.b], { title: 'tus-js' });
  const bytes = Buffer.from('tus-js-client chunk\n'.repeat(40000));
  const url = await new Promise((resolve, reject) => {
    const up = new tus.Upload(bytes, {
      endpoint: `${w.srv.base}/api/v1/uploads`,
      headers: { Authorization: `Bearer ${w.a.token}` },
      metadata: { filename: 'tus.txt', conversation_id: String(conv.id), filetype: 'text/plain' },
      chunkSize: 256 * 1024,
      retryDelays: [0, 100, 500],
      onError: reject,
      onSuccess: () => resolve(up.url),
    });
    up.start();
  });
  const id = url.split('/').pop();
  const st = await waitState(w.a, id);
  assert.equal(st.state, 'ready');
  assert.equal(st.length, bytes.length);
});

// The image fixtures of the file guard's tests (tests/file/image), made
// before the server starts (seconds of work an idle keep-alive would not survive).
const imgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-img-'));
const gen = spawnSync('/usr/bin/python3', [path.join(ROOT, 'tests/file/image/gen_images.py'), imgDir], { encoding: 'utf8' });
after(() => fs.rmSync(imgDir, { recursive: true, force: true }));

// Counts the entries of an image's EXIF GPS directory with libexif
// (ctypes: ExifData starts with its five ExifContent pointers; GPS is the
// fourth; ExifContent is {entries, count}).
const LIBEXIF_GPS = `
import ctypes, sys
lib = ctypes.CDLL('libexif.so.12')
class Content(ctypes.Structure):
    _fields_ = [('entries', ctypes.c_void_p), ('count', ctypes.c_uint)]
class Data(ctypes.Structure):
    _fields_ = [('ifd', ctypes.POINTER(Content) * 5)]
lib.exif_data_new_from_file.restype = ctypes.POINTER(Data)
d = lib.exif_data_new_from_file(sys.argv[1].encode())
g = d.contents.ifd[3] if d else None
print('gps=%d exif=%d' % (g.contents.count if g else 0, 1 if d else 0))
`;

test('a GPS photo is delivered without its location; the sender is told', async () => {
  const dir = imgDir;
  assert.equal(gen.status, 0, gen.stderr);
  const conv = await conversation(w.a, [w.b], { title: 'photos' });
  const ws = await Ws.open(w.a);
  try {
    const jpg = fs.readFileSync(path.join(dir, 'gps.jpg'));
    assert.ok(jpg.includes(Buffer.from('GPS')) || jpg.length > 0);
    const id = await upload(w.a, conv.id, jpg, 'holiday.jpg');
    // polled over HTTP (an idle keep-alive socket would be closed meanwhile)
    const st = await waitState(w.a, id);
    const ev = await ws.waitType('upload.state', (e) => e.id === id && e.state !== 'inspecting');
    assert.equal(ev.location_removed, true, JSON.stringify(ev));
    assert.equal(st.mime, 'image/jpeg');
    assert.equal(st.location_removed, true);
    const d = await fetch(`${w.srv.base}/api/v1/files/${st.file_id}`, { headers: { Authorization: `Bearer ${w.a.token}` } });
    const got = Buffer.from(await d.arrayBuffer());
    assert.equal(d.headers.get('content-type'), 'image/jpeg');
    assert.ok(got.length > 1000 && got[0] === 0xff && got[1] === 0xd8, 'a JPEG');
    assert.ok(!got.includes(Buffer.from('Exif\0\0')), 'no EXIF block in the delivered bytes');
    // a thumbnail of at most 320 px, same rules
    const t = await fetch(`${w.srv.base}/api/v1/files/${st.file_id}/thumbnail`, { headers: { Authorization: `Bearer ${w.a.token}` } });
    assert.equal(t.status, 200);
    assert.equal(t.headers.get('content-type'), 'image/jpeg');
    const tb = Buffer.from(await t.arrayBuffer());
    assert.ok(tb[0] === 0xff && tb[1] === 0xd8 && tb.length < got.length, 'a smaller JPEG');
    assert.equal((await w.b.get(`/files/${st.file_id}/thumbnail`)).status, 404, 'not sent: not for others');
    const insp = ws.events.find((e) => e.type === 'upload.state' && e.id === id && e.state === 'inspecting');
    assert.ok(insp, 'upload.state inspecting was pushed');
    const out = path.join(dir, 'delivered.jpg');
    fs.writeFileSync(out, got);
    // the guard's own metadata reader on the delivered bytes: no GPS left
    // async: this process keeps reading its sockets meanwhile
    const scan = await new Promise((resolve) => execFile(process.env.CORDON, ['scan', '--format', 'json', out],
      { encoding: 'utf8' }, (err, stdout) => resolve({ stdout })));
    assert.ok(!/metadata\.gps/.test(scan.stdout), `no GPS finding on the delivered bytes: ${scan.stdout}`);
    // and libexif itself (not the guard's code): the GPS directory of the
    // original has entries, the delivered bytes have no EXIF at all
    const gpsOf = (f) => new Promise((resolve) => execFile('/usr/bin/python3', ['-c', LIBEXIF_GPS, f],
      { encoding: 'utf8' }, (err, stdout, stderr) => resolve(err ? `error ${stderr}` : stdout.trim())));
    assert.match(await gpsOf(path.join(dir, 'gps.jpg')), /^gps=[1-9]\d* exif=1$/, 'libexif reads the original\'s GPS');
    assert.equal(await gpsOf(out), 'gps=0 exif=0', 'libexif finds no EXIF in what was delivered');

  } finally {
    ws.close();
  }
});

test('a server killed during an inspection inspects again at start: never clean by default', async () => {
  assert.equal(gen.status, 0, gen.stderr);
  const conv = await conversation(w.a, [w.b], { title: 'kill' });
  const bytes = fs.readFileSync(path.join(imgDir, 'page_photo.jpg')); // OCR: seconds of work
  const c = await create(w.a, conv.id, bytes.length, 'page.jpg');
  const id = idOf(c);
  assert.equal((await patch(w.a, id, 0, bytes)).status, 204);
  const s0 = (await w.a.get(`/uploads/${id}`)).body;
  assert.equal(s0.state, 'inspecting', 'killed while inspecting');
  await w.srv.kill9();
  await w.srv.restart();
  for (const api of [w.admin, w.a, w.b, w.c]) api.base = w.srv.base;
  const st = await waitState(w.a, id);
  assert.equal(st.state, 'blocked', JSON.stringify(st));
  assert.ok(st.findings.some((f) => /^marking\./.test(f.rule)));
});

test('the same bytes twice: one blob, inspected once; recalling one message keeps the other file', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'dedupe' });
  const bytes = Buffer.from('the same minutes, twice\n'.repeat(300));
  const u1 = await upload(w.a, conv.id, bytes, 'm1.txt');
  const f1 = (await waitState(w.a, u1)).file_id;
  const u2 = await upload(w.a, conv.id, bytes, 'm2.txt');
  const f2 = (await waitState(w.a, u2)).file_id;
  assert.notEqual(f1, f2);
  // inspected once: the second upload's outcome is the cached one (the
  // server's per-inspection log line says so; no content in it)
  const lineOf = (id) => w.srv.log(2000).split('\n').find((l) => l.includes(`upload ${id}:`) && l.includes('wait='));
  assert.match(lineOf(u1) || '', / scan=[0-9.]+ /, 'the first upload is inspected');
  assert.match(lineOf(u2) || '', / scan=cached /, 'the second reuses the first inspection');
  const blobs = path.join(w.srv.dataDir, 'data', 'blobs', 'sha256');
  const hash = crypto.createHash('sha256').update(bytes).digest('hex');
  assert.ok(fs.existsSync(path.join(blobs, hash.slice(0, 2), hash)), 'stored under its SHA-256');
  const m1 = await w.a.post(`/conversations/${conv.id}/messages`, { client_id: 'dd1', text: 'one', attachments: [f1] });
  const m2 = await w.a.post(`/conversations/${conv.id}/messages`, { client_id: 'dd2', text: 'two', attachments: [f2] });
  assert.equal(m1.status, 201);
  assert.equal(m2.status, 201);
  await w.a.ok('POST', `/messages/${m1.body.message.id}/recall`, {}, 204);
  assert.equal((await w.b.get(`/files/${f1}`)).status, 404);
  assert.ok(fs.existsSync(path.join(blobs, hash.slice(0, 2), hash)), 'still referred to by the other file');
  const d = await fetch(`${w.srv.base}/api/v1/files/${f2}`, { headers: { Authorization: `Bearer ${w.b.token}` } });
  assert.ok(Buffer.from(await d.arrayBuffer()).equals(bytes));
  await w.a.ok('POST', `/messages/${m2.body.message.id}/recall`, {}, 204);
  assert.ok(!fs.existsSync(path.join(blobs, hash.slice(0, 2), hash)), 'removed when nothing refers to it');
});
