'use strict';
// Previews are made in the sandbox (issue 15): the server's process never
// decodes an upload to make its thumbnail; the worker's thumb mode does
// (guard_file_make_preview). What a user relies on:
//   - a phone's portrait photo (stored sideways, EXIF Orientation=6) gets an
//     upright preview: its size is the stored one turned, and what is at the
//     top of the picture is at the top of the preview;
//   - a picture whose preview maker crashes (the worker's test hook
//     CORDON_TEST_WORKER_CRASH=thumb: only the thumb mode aborts, inspection
//     and stripping run) is still delivered, with no preview (the web then
//     shows the picture itself) — and the server carries on. Had the server decoded the
//     picture itself after the worker failed, there would be a preview here:
//     this is the proof that there is no in-process fallback;
//   - the server's log says where each preview was made.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { after } = require('node:test');
const { world } = require('../lib/fixture.js');
const { conversation } = require('../lib/client.js');
const { uploadFile } = require('../lib/uploads.js');

const w = world({ a: {}, b: {} });
const wc = world({ a: {}, b: {} }, { env: { CORDON_TEST_WORKER_CRASH: 'thumb' } });

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-preview-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

// A portrait picture (400×600 upright, a red band across its top, the rest
// grey-blue) stored as a phone stores it: pixels turned to 600×400 and
// EXIF Orientation=6 ("turn 90° clockwise to show").
const py = (code, ...args) => {
  const r = spawnSync('/usr/bin/python3', ['-c', code, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
};
py(`
import sys
from PIL import Image, ImageDraw
up = Image.new('RGB', (400, 600), (60, 90, 140))
ImageDraw.Draw(up).rectangle((0, 0, 399, 119), fill=(220, 20, 20))
stored = up.rotate(90, expand=True)  # counter-clockwise: Orientation 6 turns it back
ex = Image.Exif(); ex[0x0112] = 6
stored.save(sys.argv[1], 'JPEG', quality=90, exif=ex.tobytes())
Image.new('RGB', (300, 200), (30, 160, 60)).save(sys.argv[2], 'JPEG', quality=90)
`, path.join(dir, 'portrait.jpg'), path.join(dir, 'green.jpg'));

// The Orientation tag of a JPEG, the size of its pixels, and whether its
// top band is red (the mean colour of its top eighth).
const probe = (file) => JSON.parse(py(`
import sys, json
from PIL import Image
im = Image.open(sys.argv[1])
o = im.getexif().get(0x0112)
w, h = im.size
top = im.convert('RGB').crop((0, 0, w, max(1, h // 8))).resize((1, 1), Image.BOX).getpixel((0, 0))
print(json.dumps({'orientation': o, 'width': w, 'height': h, 'top': top}))
`, file));

const thumbOf = (api, srv, id) => fetch(`${srv.base}/api/v1/files/${id}/thumbnail`, { headers: { Authorization: `Bearer ${api.token}` } });
const logOf = (srv, id) => srv.log(4000).split('\n').filter((l) => l.includes(`upload ${id}:`));

test('a portrait phone photo (Orientation=6) gets an upright preview, made in the sandbox', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'preview-orient' });
  const up = await uploadFile(w.a, conv.id, fs.readFileSync(path.join(dir, 'portrait.jpg')), 'portrait.jpg');
  assert.equal(up.state, 'ready', JSON.stringify(up));
  const d = await fetch(`${w.srv.base}/api/v1/files/${up.file_id}`, { headers: { Authorization: `Bearer ${w.a.token}` } });
  assert.equal(d.status, 200);
  fs.writeFileSync(path.join(dir, 'delivered.jpg'), Buffer.from(await d.arrayBuffer()));
  const stored = probe(path.join(dir, 'delivered.jpg'));
  assert.deepEqual([stored.width, stored.height], [600, 400], 'the delivered pixels are the stored ones');
  assert.equal(stored.orientation, 6, 'the strip keeps the Orientation tag (ex_strip.c)');
  const r = await thumbOf(w.b, w.srv, up.file_id);
  assert.equal(r.status, 404, 'not sent yet: nothing for the other member');
  const s = await w.a.req('POST', `/conversations/${conv.id}/messages`, { client_id: 'orient-1', attachments: [up.file_id] });
  assert.equal(s.status, 201, s.text);
  const att = s.body.message.attachments[0];
  assert.equal(att.thumbnail, true, JSON.stringify(att));
  assert.deepEqual([att.width, att.height], [400, 600], `the picture's size as it is shown: ${JSON.stringify(att)}`);
  const tr = await thumbOf(w.b, w.srv, up.file_id);
  assert.equal(tr.status, 200);
  assert.equal(tr.headers.get('content-type'), 'image/jpeg');
  fs.writeFileSync(path.join(dir, 'thumb.jpg'), Buffer.from(await tr.arrayBuffer()));
  const th = probe(path.join(dir, 'thumb.jpg'));
  assert.deepEqual([th.width, th.height], [400, 600], `upright: the stored 600×400 turned, ${JSON.stringify(th)}`);
  assert.ok(th.top[0] > 150 && th.top[1] < 100 && th.top[2] < 100, `the red band is at the top: ${JSON.stringify(th)}`);
  assert.ok(logOf(w.srv, up.id).some((l) => /preview made in the sandbox \(400x600/.test(l)), logOf(w.srv, up.id).join('\n'));
});

test('every preview is made by the worker: the server logs where, with the size', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'preview-where' });
  const up = await uploadFile(w.a, conv.id, fs.readFileSync(path.join(dir, 'green.jpg')), 'green.jpg');
  assert.equal(up.state, 'ready', JSON.stringify(up));
  const tr = await thumbOf(w.a, w.srv, up.file_id);
  assert.equal(tr.status, 200);
  fs.writeFileSync(path.join(dir, 'green_thumb.jpg'), Buffer.from(await tr.arrayBuffer()));
  const th = probe(path.join(dir, 'green_thumb.jpg'));
  assert.deepEqual([th.width, th.height], [300, 200], 'a small picture keeps its size');
  assert.ok(th.top[1] > 120 && th.top[0] < 80, `its pixels: ${JSON.stringify(th)}`);
  const lines = logOf(w.srv, up.id);
  assert.ok(lines.some((l) => / preview made in the sandbox \(300x200, \d+ bytes\)/.test(l)), lines.join('\n'));
});

test('a picture whose preview maker crashes is delivered without a preview; the server carries on', async () => {
  const conv = await conversation(wc.a, [wc.b], { title: 'preview-crash' });
  const up = await uploadFile(wc.a, conv.id, fs.readFileSync(path.join(dir, 'green.jpg')), 'green.jpg');
  // inspected and stripped by workers the hook leaves alone: clean, ready
  assert.equal(up.state, 'ready', JSON.stringify(up));
  assert.equal(up.verdict, 'allow', JSON.stringify(up));
  const s = await wc.a.req('POST', `/conversations/${conv.id}/messages`, { client_id: 'crash-1', attachments: [up.file_id] });
  assert.equal(s.status, 201, s.text);
  const att = s.body.message.attachments[0];
  assert.equal(att.kind, 'image');
  assert.equal(att.thumbnail, false, `no preview: ${JSON.stringify(att)}`);
  assert.equal((await thumbOf(wc.b, wc.srv, up.file_id)).status, 404);
  assert.equal((await thumbOf(wc.a, wc.srv, up.file_id)).status, 404);
  // the picture itself reaches the other member
  const d = await fetch(`${wc.srv.base}/api/v1/files/${up.file_id}`, { headers: { Authorization: `Bearer ${wc.b.token}` } });
  assert.equal(d.status, 200);
  const lines = logOf(wc.srv, up.id);
  assert.ok(lines.some((l) => /no preview: .*preview maker failed \(crash\)/.test(l)), lines.join('\n'));
  assert.ok(!lines.some((l) => /preview made/.test(l)), lines.join('\n'));
  // a PDF's first page the same
  const pdf = path.join(dir, 'one.pdf');
  py(`
import cairo, sys
s = cairo.PDFSurface(sys.argv[1], 595, 842)
cr = cairo.Context(s); cr.set_font_size(16); cr.move_to(72, 300); cr.show_text('minutes'); cr.show_page(); s.finish()
`, pdf);
  const p = await uploadFile(wc.a, conv.id, fs.readFileSync(pdf), 'minutes.pdf');
  assert.equal(p.state, 'ready', JSON.stringify(p));
  assert.equal((await thumbOf(wc.a, wc.srv, p.file_id)).status, 404);
  // the server is up and answers
  assert.ok(wc.srv.running);
  const h = await wc.a.get(`/conversations/${conv.id}/messages`);
  assert.equal(h.status, 200, h.text);
});
