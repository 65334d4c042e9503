'use strict';
// Burn-after-reading with pictures (issue 16: "text or up to six images"):
// recipients see that pictures arrived, how many, but neither their ids
// nor their names; the sender cannot fetch them any more; a reader gets
// their list from the open and may fetch them for the visible time; more
// than six, or a file that is not a picture, is refused. Destroyed means
// gone: the file rows, the blobs and the thumbnails — every file of the
// data directory (database, WAL, blob store) is grepped for their bytes —
// while a blob another message also uses stays.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { world } = require('../lib/fixture.js');
const { Ws, conversation, history, assertError } = require('../lib/client.js');
const { uploadFile } = require('../lib/uploads.js');

const w = world({ a: {}, b: {}, c: {}, d: {} }, { config: { burn_after_open_seconds: 2, burn_unopened_seconds: 600 } });

// Three pictures of random grey pixels (bytes found nowhere else), 256 × 192.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-burnimg-'));
const gen = spawnSync('/usr/bin/python3', ['-c', `
import sys, os
from PIL import Image
for n in ('one', 'two', 'shared'):
    # grey noise: nothing for the guard to find (random red pixels look
    # like a red masthead, whose warning an officer's alert would keep, name included)
    Image.frombytes('L', (256, 192), os.urandom(256 * 192)).convert('RGB').save(os.path.join(sys.argv[1], n + '.png'))
`, dir], { encoding: 'utf8' });
assert.equal(gen.status, 0, gen.stderr);
const pic = (n) => fs.readFileSync(path.join(dir, `${n}.png`));

function filesContaining(root, needle) {
  const hits = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && fs.readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(root);
  return hits;
}
// a slice from the middle of the bytes: what a grep looks for
const slice = (b) => b.subarray(Math.floor(b.length / 2), Math.floor(b.length / 2) + 64);

async function fetchFile(api, id, thumb = false) {
  const r = await fetch(`${api.base}/api/v1/files/${id}${thumb ? '/thumbnail' : ''}`, { headers: { Authorization: `Bearer ${api.token}` } });
  return { status: r.status, bytes: Buffer.from(await r.arrayBuffer()) };
}

let n = 0;
const post = (api, convId, body) => api.req('POST', `/conversations/${convId}/messages`, { client_id: `bi-${++n}`, ...body });

test('refused: a file that is not a picture, more than six pictures', async () => {
  const conv = await conversation(w.a, [w.b]);
  const txt = await uploadFile(w.a, conv.id, Buffer.from('minutes of the meeting\n'), 'minutes.txt');
  const r = await post(w.a, conv.id, { burn: true, attachments: [txt.file_id] });
  assertError(r, 422, 'burn_not_image');
  assert.equal(r.body.error.id, txt.file_id);
  const seven = Array.from({ length: 7 }, (_, i) => `${i}`.repeat(32));
  const r7 = await post(w.a, conv.id, { burn: true, attachments: seven });
  assertError(r7, 422, 'burn_too_many');
  assert.equal(r7.body.error.max, 6);
});

test('pictures: hidden until opened, fetched by the reader for the visible time, destroyed from disk with their thumbnails; a shared blob stays', async () => {
  const conv = await conversation(w.a, [w.b, w.c], { title: 'burn pictures' });
  const up1 = await uploadFile(w.a, conv.id, pic('one'), 'secret-one.png');
  const up2 = await uploadFile(w.a, conv.id, pic('two'), 'secret-two.png');
  const upS = await uploadFile(w.a, conv.id, pic('shared'), 'shared-burn.png');
  // the same bytes in an ordinary message elsewhere: one blob, two files
  const other = await conversation(w.a, [w.d]);
  const upO = await uploadFile(w.a, other.id, pic('shared'), 'shared-plain.png');
  for (const u of [up1, up2, upS, upO]) assert.equal(u.state, 'ready', JSON.stringify(u));
  const plain = await post(w.a, other.id, { attachments: [upO.file_id] });
  assert.equal(plain.status, 201, plain.text);

  // what will be delivered (metadata stripped): fetched by the uploader before sending
  const bytes = {};
  for (const [k, u] of Object.entries({ one: up1, two: up2, shared: upS })) {
    const f = await fetchFile(w.a, u.file_id);
    const t = await fetchFile(w.a, u.file_id, true);
    assert.equal(f.status, 200);
    assert.equal(t.status, 200, 'a thumbnail');
    bytes[k] = { file: f.bytes, thumb: t.bytes };
  }
  const ids = [up1.file_id, up2.file_id, upS.file_id];
  const wb = await Ws.open(w.b);
  const wc = await Ws.open(w.c);
  try {
    const r = await post(w.a, conv.id, { burn: true, attachments: ids });
    assert.equal(r.status, 201, r.text);
    const m = r.body.message;
    assert.deepEqual({ burn: m.burn, text: m.text, attachments: m.attachments, burn_images: m.burn_images },
      { burn: true, text: null, attachments: [], burn_images: 3 });
    // no shape names the pictures: event, history, conversation list
    const ev = await wb.waitType('message.new', (e) => e.message.id === m.id);
    assert.equal(ev.message.burn_images, 3);
    const seen = [JSON.stringify(ev), (await history(w.b, conv.id)).text, (await history(w.a, conv.id)).text, (await w.b.get('/conversations')).text];
    for (const s of seen) for (const id of ids) assert.ok(!s.includes(id) && !s.includes('secret-one'), `a file id or name shows: ${s.slice(0, 300)}`);
    // nobody fetches them before an open, the sender included
    for (const who of [w.a, w.b, w.c]) {
      assert.equal((await fetchFile(who, up1.file_id)).status, 404);
      assert.equal((await fetchFile(who, up1.file_id, true)).status, 404);
    }
    // nor may they be sent again as ordinary pictures
    assertError(await post(w.a, conv.id, { attachments: [up1.file_id] }), 404, 'attachment_not_found');
    // the control: the bytes are on disk now (so the grep below can see them)
    for (const k of ['one', 'two', 'shared']) {
      assert.ok(filesContaining(w.srv.dataDir, slice(bytes[k].file)).length > 0, `${k} stored`);
      assert.ok(filesContaining(w.srv.dataDir, slice(bytes[k].thumb)).length > 0, `${k} thumbnail stored`);
    }

    // B opens it: the list, then the pictures, for the visible time
    const o = await w.b.ok('POST', `/messages/${m.id}/open`, {}, 200);
    assert.deepEqual(o.attachments.map((x) => x.id), ids);
    assert.ok(o.attachments.every((x) => x.kind === 'image' && x.name));
    const got = await fetchFile(w.b, up1.file_id);
    assert.equal(got.status, 200);
    // the reader's copy carries their watermark (WATERMARK.md), made for this fetch and not kept
    assert.ok(got.bytes.length > 1000 && !got.bytes.equals(bytes.one.file), 'a marked copy');
    assert.equal((await fetchFile(w.b, up2.file_id, true)).status, 200);
    // C has not opened it; A never may
    assert.equal((await fetchFile(w.c, up1.file_id)).status, 404);
    assert.equal((await fetchFile(w.a, up1.file_id)).status, 404);

    // C opens it: destroyed 2 s later (every member opened it)
    await w.c.ok('POST', `/messages/${m.id}/open`, {}, 200);
    await wb.waitType('message.burned', (e) => e.message_id === m.id, 15000);
    for (const who of [w.b, w.c]) assert.equal((await fetchFile(who, up1.file_id)).status, 404);
    const h = (await history(w.b, conv.id)).body.messages.find((x) => x.id === m.id);
    assert.deepEqual({ d: h.burn_destroyed, n: h.burn_images, a: h.attachments }, { d: true, n: 0, a: [] });

    // gone from every file of the data directory: database, WAL, blob store
    for (const k of ['one', 'two']) {
      assert.deepEqual(filesContaining(w.srv.dataDir, slice(bytes[k].file)), [], `${k}'s bytes left`);
      assert.deepEqual(filesContaining(w.srv.dataDir, slice(bytes[k].thumb)), [], `${k}'s thumbnail left`);
    }
    assert.deepEqual(filesContaining(w.srv.dataDir, Buffer.from('secret-one.png')), [], 'its name left');
    // the blob the ordinary message shares stays, and D still gets it
    assert.ok(filesContaining(w.srv.dataDir, slice(bytes.shared.file)).length > 0, 'the shared blob stays');
    assert.equal((await fetchFile(w.d, upO.file_id)).status, 200);
    assert.ok((await fetchFile(w.a, upO.file_id)).bytes.equals(bytes.shared.file), 'the same bytes');
  } finally { wb.close(); wc.close(); }
});
