'use strict';
// (The other half of watermark_forms.test.js, apart so that each file stays
// well inside the runner's per-file time on a slow machine.)
// Every picture a viewer receives carries the invisible watermark, or the
// record says it does not (issue 16, "Screenshot deterrence";
// docs/WATERMARK.md, "In chat"):
//  - a GIF, TIFF or BMP is delivered as a marked PNG of the same pixels;
//  - an animated GIF (a marked copy would be its first frame only) goes
//    out as it is, and the officers'
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
const { dir, picture, size, get, tracedTo, shared, unmarkedEntries } = watermarkKit(w, 'wmtypes');

let conv;
test('setup', async () => {
  conv = await conversation(w.a, [w.b, w.c, w.o], { title: 'pictures' });
});

for (const [fmt, name, mime] of [['GIF', 'still.gif', 'image/gif'], ['BMP', 'scan.bmp', 'image/bmp'], ['TIFF', 'scan.tiff', 'image/tiff']]) {
  test(`a ${fmt} is delivered as a marked PNG of its pixels`, async () => {
    const bytes = picture(name, 640, 480, fmt);
    const id = await shared(conv, bytes, name, `wf-${fmt}`);
    const mine = await get(w.a, `/files/${id}`);
    assert.equal(mine.type, mime, 'the uploader gets the stored file'); // (a TIFF's tags stripped)
    const b = await get(w.b, `/files/${id}`);
    assert.equal(b.status, 200);
    assert.equal(b.type, 'image/png');
    assert.match(b.disposition, new RegExp(`filename="${name.replace(/\..*/, '')}\\.png"`), b.disposition);
    fs.writeFileSync(path.join(dir, `b-${name}.png`), b.bytes);
    assert.deepEqual(size(path.join(dir, `b-${name}.png`)), ['PNG', '640', '480', '1']);
    tracedTo(b.bytes, w.b, id, name);
    assert.deepEqual(await unmarkedEntries(id), [], `${mime}: nothing went out unmarked`);
  });
}

test('an animated GIF goes out as it is, its preview marked, and the audit log says so', async () => {
  const bytes = picture('anim.gif', 480, 360, 'GIF', 3);
  const id = await shared(conv, bytes, 'anim.gif', 'wf-anim');
  const b = await get(w.b, `/files/${id}`);
  assert.equal(b.status, 200);
  assert.equal(b.type, 'image/gif');
  assert.ok(b.bytes.equals(bytes), 'every frame delivered: the original bytes');
  const bp = await get(w.b, `/files/${id}/thumbnail`);
  tracedTo(bp.bytes, w.b, id, 'anim.gif', { rescale: false });
  await get(w.b, `/files/${id}`); // again: one entry per viewer, not per download
  const e = await unmarkedEntries(id);
  assert.equal(e.length, 1, JSON.stringify(e));
  assert.equal(e[0].actor, w.b.user.login);
  const detail = typeof e[0].detail === 'string' ? JSON.parse(e[0].detail) : e[0].detail;
  assert.equal(detail.original, 'frames');
  assert.equal(detail.preview, undefined, 'the preview carries the mark');
  assert.ok(detail.delivery > 0);
});

