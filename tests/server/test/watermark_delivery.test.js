'use strict';
// The invisible per-viewer watermark on delivered pictures (issue 16,
// "Screenshot deterrence"; docs/WATERMARK.md, "In chat"): a member who
// downloads a picture someone else sent gets a copy carrying a delivery id
// (one per picture and viewer, the same copy every time); its uploader
// gets the original. A copy found outside — re-compressed as JPEG quality
// 70 and rescaled to 50 % — is traced by `cordon watermark decode` to the
// viewer it was delivered to; the original decodes to nobody. The copy is
// made in the sandboxed worker (its mark mode): when that worker dies, the
// picture is refused to the viewer, never sent unmarked, and the server
// carries on.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { world } = require('../lib/fixture.js');
const { conversation } = require('../lib/client.js');
const { uploadFile } = require('../lib/uploads.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-wmdl-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const py = (code, ...args) => {
  const r = spawnSync('/usr/bin/python3', ['-c', code, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
};
// a photo-like picture: a sky gradient, soft shapes, grain (800 × 600 JPEG)
py(`
import sys, random
from PIL import Image, ImageDraw, ImageFilter
random.seed(7)
w, h = 800, 600
img = Image.new('RGB', (w, h))
px = img.load()
for y in range(h):
    for x in range(w):
        px[x, y] = (int(90 + 80 * y / h), int(140 + 60 * y / h), int(220 - 40 * y / h))
d = ImageDraw.Draw(img)
d.ellipse((100, 300, 420, 560), fill=(60, 120, 50))
d.rectangle((480, 250, 700, 520), fill=(150, 90, 60))
img = img.filter(ImageFilter.GaussianBlur(3))
px = img.load()
for y in range(h):
    for x in range(w):
        n = random.randint(-6, 6)
        r, g, b = px[x, y]
        px[x, y] = (max(0, min(255, r + n)), max(0, min(255, g + n)), max(0, min(255, b + n)))
img.save(sys.argv[1], 'JPEG', quality=90)
`, path.join(dir, 'photo.jpg'));

// what someone does to a copy before it turns up outside
function leak(input, output) {
  py(`
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert('RGB')
im = im.resize((im.width // 2, im.height // 2), Image.LANCZOS)
im.save(sys.argv[2], 'JPEG', quality=70)
`, input, output);
}

const w = world({ a: {}, b: {}, c: {} });
// the worker's test hook: only the watermark writer (mark mode) aborts
const wc = world({ a: {}, b: {} }, { env: { CORDON_TEST_WORKER_CRASH: 'mark' } });

async function download(api, id) {
  const r = await fetch(`${api.base}/api/v1/files/${id}?inline=1`, { headers: { Authorization: `Bearer ${api.token}` } });
  return { status: r.status, type: r.headers.get('content-type'), bytes: Buffer.from(await r.arrayBuffer()) };
}

test('a downloaded picture names its viewer after JPEG quality 70 and a 50 % rescale', async () => {
  const conv = await conversation(w.a, [w.b, w.c], { title: 'photos' });
  const up = await uploadFile(w.a, conv.id, fs.readFileSync(path.join(dir, 'photo.jpg')), 'site.jpg');
  assert.equal(up.state, 'ready', JSON.stringify(up));
  const own = await download(w.a, up.file_id);
  const sent = await w.a.req('POST', `/conversations/${conv.id}/messages`, { client_id: 'wm-1', attachments: [up.file_id] });
  assert.equal(sent.status, 201, sent.text);

  const b1 = await download(w.b, up.file_id);
  const b2 = await download(w.b, up.file_id);
  const c1 = await download(w.c, up.file_id);
  const a2 = await download(w.a, up.file_id);
  for (const d of [b1, b2, c1]) {
    assert.equal(d.status, 200);
    assert.equal(d.type, 'image/jpeg');
  }
  assert.ok(a2.bytes.equals(own.bytes), 'the uploader gets the original');
  assert.ok(!b1.bytes.equals(own.bytes), 'a viewer gets a marked copy');
  assert.ok(b1.bytes.equals(b2.bytes), 'the same copy every time (one delivery per viewer)');
  assert.ok(!b1.bytes.equals(c1.bytes), 'each viewer their own');
  // a Range of the marked copy
  const part = await fetch(`${w.b.base}/api/v1/files/${up.file_id}`, { headers: { Authorization: `Bearer ${w.b.token}`, Range: 'bytes=0-99' } });
  assert.equal(part.status, 206);
  assert.ok(Buffer.from(await part.arrayBuffer()).equals(b1.bytes.subarray(0, 100)));

  fs.writeFileSync(path.join(dir, 'b.jpg'), b1.bytes);
  fs.writeFileSync(path.join(dir, 'c.jpg'), c1.bytes);
  fs.writeFileSync(path.join(dir, 'orig.jpg'), own.bytes);
  for (const [who, api] of [['b', w.b], ['c', w.c]]) {
    leak(path.join(dir, `${who}.jpg`), path.join(dir, `${who}-leak.jpg`));
    const r = w.srv.cli(['watermark', 'decode', '--data', w.srv.storeDir, path.join(dir, `${who}-leak.jpg`)]);
    assert.equal(r.status, 0, `decode ${who}: ${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^viewer: ${api.user.login} \\(`, 'm'), r.stdout);
    assert.match(r.stdout, new RegExp(`^file: site\\.jpg \\(${up.file_id}\\)`, 'm'), r.stdout);
    assert.match(r.stdout, /^delivered: \d{4}-\d\d-\d\dT/m, r.stdout);
  }
  // the control: the original, leaked the same way, names nobody
  leak(path.join(dir, 'orig.jpg'), path.join(dir, 'orig-leak.jpg'));
  const o = w.srv.cli(['watermark', 'decode', '--data', w.srv.storeDir, path.join(dir, 'orig-leak.jpg')]);
  assert.equal(o.status, 1, `${o.stdout}\n${o.stderr}`);
  assert.match(o.stdout, /no watermark found/);
});

test('a picture whose watermark writer crashes is refused to the viewer, not sent unmarked', async () => {
  const conv = await conversation(wc.a, [wc.b], { title: 'mark-crash' });
  const up = await uploadFile(wc.a, conv.id, fs.readFileSync(path.join(dir, 'photo.jpg')), 'site.jpg');
  // inspected, stripped and previewed by workers the hook leaves alone
  assert.equal(up.state, 'ready', JSON.stringify(up));
  const sent = await wc.a.req('POST', `/conversations/${conv.id}/messages`, { client_id: 'wm-crash', attachments: [up.file_id] });
  assert.equal(sent.status, 201, sent.text);
  assert.equal(sent.body.message.attachments[0].thumbnail, true, 'the preview was made');
  const b = await download(wc.b, up.file_id);
  assert.equal(b.status, 500);
  assert.equal(JSON.parse(b.bytes.toString()).error.code, 'watermark_failed');
  const bt = await fetch(`${wc.b.base}/api/v1/files/${up.file_id}/thumbnail`, { headers: { Authorization: `Bearer ${wc.b.token}` } });
  assert.equal(bt.status, 500, 'the preview is refused the same way');
  const lines = wc.srv.log(4000).split('\n').filter((l) => l.includes(`${up.file_id}: the `) && l.includes('could not be marked'));
  assert.ok(lines.some((l) => /watermark writer failed \(crash\)/.test(l)), lines.join('\n'));
  // the uploader's original needs no mark; the server is up and answers
  const a = await download(wc.a, up.file_id);
  assert.equal(a.status, 200);
  assert.ok(wc.srv.running);
  const h = await wc.b.get(`/conversations/${conv.id}/messages`);
  assert.equal(h.status, 200, h.text);
});
