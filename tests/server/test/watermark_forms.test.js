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
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { world } = require('../lib/fixture.js');
const { conversation } = require('../lib/client.js');
const { watermarkKit } = require('../lib/watermark.js');

const w = world({ a: {}, b: {}, c: {}, o: { role: 'officer' } });
const { dir, picture, leak, size, get, tracedTo, shared, unmarkedEntries } = watermarkKit(w, 'wmforms');

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
