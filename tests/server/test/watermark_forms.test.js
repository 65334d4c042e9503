'use strict';
// Every picture a viewer receives carries the invisible watermark, or the
// record says it does not (issue 16, "Screenshot deterrence";
// docs/WATERMARK.md, "In chat"):
//  - a file's preview (GET /files/{id}/thumbnail, what the chat shows and a
//    screenshot of the chat catches) is marked per viewer and, at its 1,024
//    px, still names the viewer after a 50 % rescale and JPEG quality 70;
//  - a GIF, TIFF or BMP is delivered as a marked PNG of the same pixels,
//    and an animated GIF as it is (watermark_types.test.js);
//  - a picture under 128 px a side goes out as it is, and the officers'
//    audit log has a file.delivered_unmarked entry naming the delivery,
//    the viewer and why, once per viewer.
// (Over 64 MiB is the same rule with reason too_large: the reason itself is
// unit-tested in tests/server/unit/test_srv_wmark.c rather than uploading
// 64 MiB here.)
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { world } = require('../lib/fixture.js');
const { conversation } = require('../lib/client.js');
const { uploadFile } = require('../lib/uploads.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-wmforms-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const py = (code, ...args) => {
  const r = spawnSync('/usr/bin/python3', ['-c', code, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
};
// photo-like pictures (a sky gradient, soft shapes, grain), written as
// OUT W H FORMAT [frames]
const PHOTO = `
import sys, random
from PIL import Image, ImageDraw, ImageFilter, ImageChops
out, w, h, fmt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
frames = int(sys.argv[5]) if len(sys.argv) > 5 else 1
def photo(seed):
    random.seed(seed)
    g = Image.linear_gradient('L').resize((w, h))
    img = Image.merge('RGB', [g.point(lambda v: 90 + v * 80 // 255), g.point(lambda v: 140 + v * 60 // 255),
                              g.point(lambda v: 220 - v * 40 // 255)])
    d = ImageDraw.Draw(img)
    for _ in range(8):
        x, y, r = random.randrange(w), random.randrange(h // 3, h), random.randrange(w // 10, w // 4)
        d.ellipse((x - r, y - r // 2, x + r, y + r // 2), fill=(random.randrange(30, 200), random.randrange(60, 200), 60))
    img = img.filter(ImageFilter.GaussianBlur(3))
    n = Image.effect_noise((w, h), 5)
    return ImageChops.add(img, Image.merge('RGB', [n, n, n]), 1, -128)
imgs = [photo(7 + i) for i in range(frames)]
if fmt == 'GIF':
    imgs = [i.convert('P', palette=Image.ADAPTIVE, colors=256) for i in imgs]
    imgs[0].save(out, 'GIF', save_all=frames > 1, append_images=imgs[1:], duration=200, loop=0)
elif fmt == 'JPEG':
    imgs[0].save(out, 'JPEG', quality=90)
else:
    imgs[0].save(out, fmt)
`;
const picture = (name, w, h, fmt, frames = 1) => {
  const p = path.join(dir, name);
  py(PHOTO, p, String(w), String(h), fmt, String(frames));
  return fs.readFileSync(p);
};
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
const size = (file) => py(`
import sys
from PIL import Image
im = Image.open(sys.argv[1]); print(im.format, im.width, im.height, getattr(im, 'n_frames', 1))
`, file).trim().split(' ');

const w = world({ a: {}, b: {}, c: {}, o: { role: 'officer' } });

async function get(api, url) {
  const r = await fetch(`${api.base}/api/v1${url}`, { headers: { Authorization: `Bearer ${api.token}` } });
  return { status: r.status, type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition'), bytes: Buffer.from(await r.arrayBuffer()) };
}

// decodes `bytes` (after the leak) and checks it names `api`'s user and the file
function tracedTo(bytes, api, fileId, name, { rescale = true } = {}) {
  const f = path.join(dir, `got-${api.user.login}-${fileId}`);
  fs.writeFileSync(f, bytes);
  if (rescale) leak(f, `${f}-leak.jpg`);
  const r = w.srv.cli(['watermark', 'decode', '--data', w.srv.storeDir, rescale ? `${f}-leak.jpg` : f]);
  assert.equal(r.status, 0, `decode ${name} of ${api.user.login}: ${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, new RegExp(`^viewer: ${api.user.login} \\(`, 'm'), r.stdout);
  assert.match(r.stdout, new RegExp(`^file: ${name.replace('.', '\\.')} \\(${fileId}\\)`, 'm'), r.stdout);
}

async function shared(conv, bytes, name, clientId) {
  const up = await uploadFile(w.a, conv.id, bytes, name);
  assert.equal(up.state, 'ready', JSON.stringify(up));
  const sent = await w.a.req('POST', `/conversations/${conv.id}/messages`, { client_id: clientId, attachments: [up.file_id] });
  assert.equal(sent.status, 201, sent.text);
  return up.file_id;
}

async function unmarkedEntries(fileId) {
  // a fresh connection: on a slow machine the officer's kept-alive one may
  // have idled past the server's keep-alive time (closed as it is reused)
  const r = await fetch(`${w.o.base}/api/v1/audit?limit=500`, { headers: { Authorization: `Bearer ${w.o.token}`, Connection: 'close' } })
    .then(async (x) => { assert.equal(x.status, 200); return x.json(); });
  return r.entries.filter((e) => e.event === 'file.delivered_unmarked' && e.target === `file:${fileId}`);
}

let conv;
test('setup', async () => {
  conv = await conversation(w.a, [w.b, w.c, w.o], { title: 'pictures' });
});

test("a preview is the viewer's own marked copy and names them after JPEG quality 70 and a 50 % rescale", async () => {
  const id = await shared(conv, picture('big.jpg', 1600, 1200, 'JPEG'), 'big.jpg', 'wf-1');
  const own = await get(w.a, `/files/${id}/thumbnail`);
  const b1 = await get(w.b, `/files/${id}/thumbnail`);
  const b2 = await get(w.b, `/files/${id}/thumbnail`);
  const c1 = await get(w.c, `/files/${id}/thumbnail`);
  for (const d of [own, b1, b2, c1]) {
    assert.equal(d.status, 200);
    assert.equal(d.type, 'image/jpeg');
  }
  fs.writeFileSync(path.join(dir, 'own-preview.jpg'), own.bytes);
  assert.deepEqual(size(path.join(dir, 'own-preview.jpg')), ['JPEG', '1024', '768', '1'], 'previews are 1,024 px on the longer side');
  assert.ok(!b1.bytes.equals(own.bytes), 'a viewer gets a marked preview');
  assert.ok(b1.bytes.equals(b2.bytes), 'the same copy every time');
  assert.ok(!b1.bytes.equals(c1.bytes), 'each viewer their own');
  tracedTo(b1.bytes, w.b, id, 'big.jpg');
  tracedTo(c1.bytes, w.c, id, 'big.jpg');
  // the original and the preview are one delivery per viewer: the same id
  const bo = await get(w.b, `/files/${id}?inline=1`);
  tracedTo(bo.bytes, w.b, id, 'big.jpg');
  // the uploader's preview (not marked) names nobody
  leak(path.join(dir, 'own-preview.jpg'), path.join(dir, 'own-preview-leak.jpg'));
  const o = w.srv.cli(['watermark', 'decode', '--data', w.srv.storeDir, path.join(dir, 'own-preview-leak.jpg')]);
  assert.equal(o.status, 1, `${o.stdout}\n${o.stderr}`);
  assert.deepEqual(await unmarkedEntries(id), [], 'nothing went out unmarked');
});

test('a picture under 128 px goes out unmarked, recorded as too_small for each viewer', async () => {
  const bytes = picture('icon.png', 100, 80, 'PNG');
  const id = await shared(conv, bytes, 'icon.png', 'wf-small');
  for (const api of [w.b, w.c]) {
    const d = await get(api, `/files/${id}`);
    assert.equal(d.status, 200);
    assert.ok(d.bytes.equals(bytes), 'delivered as it is');
    const p = await get(api, `/files/${id}/thumbnail`);
    assert.equal(p.status, 200);
  }
  const e = await unmarkedEntries(id);
  assert.deepEqual(e.map((x) => x.actor).sort(), [w.b.user.login, w.c.user.login].sort());
  for (const x of e) {
    const detail = typeof x.detail === 'string' ? JSON.parse(x.detail) : x.detail;
    assert.equal(detail.original, 'too_small');
    assert.equal(detail.preview, 'too_small');
  }
});
