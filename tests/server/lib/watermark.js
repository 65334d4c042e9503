'use strict';
// What the watermark tests share (watermark_forms, watermark_types):
// photo-like pictures made with Pillow, the "leak" an image suffers before it
// turns up outside (a 50 % rescale and JPEG quality 70), `cordon watermark
// decode` checking it names the viewer, a picture shared into a
// conversation, and the officers' file.delivered_unmarked entries.
const { after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { uploadFile } = require('./uploads.js');

// w: the test file's world (users a and o, an officer); prefix names its
// scratch directory (dir), removed after the file's tests.
function watermarkKit(w, prefix) {
  // (not indented: the Python programs below are template literals)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cordon-${prefix}-`));
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
  return { dir, picture, leak, size, get, tracedTo, shared, unmarkedEntries };
}

module.exports = { watermarkKit };
