'use strict';
// 识别文字 (issue 16, "Local text recognition"; docs/API.md, "Text
// recognition"): POST /files/{id}/ocr reads a picture's text on the server
// with the guard's own engine and gives it to the caller only. A rendered
// page comes back as its text; a marked page comes back restricted
// (kept_in_chat) with an officer alert ocr.marked; a classified page,
// which the policy blocks, gives no text and an alert ocr.blocked; who may ask is who may
// download (uploader, members who see it); it is rate-limited and audited.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { world } = require('../lib/fixture.js');
const { conversation, assertError, Ws, auditEntries } = require('../lib/client.js');
const { ROOT } = require('../lib/server.js');
const { uploadFile } = require('../lib/uploads.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-ocr-'));
const gen = spawnSync('/usr/bin/python3', [path.join(ROOT, 'tests/file/image/gen_images.py'), dir], { encoding: 'utf8' });
assert.equal(gen.status, 0, gen.stderr);
// a note (Chinese and English) and a commercial-secret page, whose
// marking the default policy holds (confirm) rather than blocks
const draw = spawnSync('/usr/bin/python3', ['-c', `
import sys, os
from PIL import Image, ImageDraw, ImageFont
f = ImageFont.truetype('/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc', 30)
img = Image.new('RGB', (900, 260), 'white')
d = ImageDraw.Draw(img)
d.text((40, 40), '周五下午三点开会', font=f, fill='black')
d.text((40, 120), 'Meeting at three on Friday', font=f, fill='black')
img.save(os.path.join(sys.argv[1], 'note.png'))
img = Image.new('RGB', (900, 360), 'white')
d = ImageDraw.Draw(img)
d.text((40, 40), '核心商密', font=f, fill='black')
d.text((40, 120), '新产品定价策略（草案）', font=f, fill='black')
d.text((40, 200), '第一季度价格上调百分之五', font=f, fill='black')
img.save(os.path.join(sys.argv[1], 'commercial.png'))
`, dir], { encoding: 'utf8' });
assert.equal(draw.status, 0, draw.stderr);
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const w = world({ a: {}, b: {}, c: {}, o: { role: 'officer' } }, { config: { limits: { ocr_per_minute: 1, ocr_burst: 8 } } });

let n = 0;
async function sendFile(api, convId, fileId, extra = {}) {
  const r = await api.req('POST', `/conversations/${convId}/messages`, { client_id: `ocr-${++n}`, attachments: [fileId], ...extra });
  assert.equal(r.status, 201, r.text);
  return r.body.message;
}

const norm = (s) => s.replace(/\s+/g, '');

test('a picture in a chat: a member gets its text, copy allowed; a non-member gets 404', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'ocr' });
  const up = await uploadFile(w.a, conv.id, fs.readFileSync(path.join(dir, 'plain_text.png')), '通知.png');
  assert.equal(up.state, 'ready', JSON.stringify(up));
  await sendFile(w.a, conv.id, up.file_id);

  const r = await w.b.post(`/files/${up.file_id}/ocr`, {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.file_id, up.file_id);
  assert.equal(r.body.kept_in_chat, false);
  assert.equal(r.body.truncated, false);
  // the rendered lines come back (OCR may space CJK differently)
  assert.ok(norm(r.body.text).includes('团建活动安排'), r.body.text);
  assert.ok(norm(r.body.text).includes('二楼会议室集合'), r.body.text);
  assert.equal(r.body.guard.verdict, 'allow');

  // not a member: the same answer as no such file
  assertError(await w.c.post(`/files/${up.file_id}/ocr`, {}), 404, 'not_found');
  assertError(await w.c.post(`/files/${'0'.repeat(32)}/ocr`, {}), 404, 'not_found');
  // the request is audited without the text
  const au = (await auditEntries(w.admin)).filter((e) => e.event === 'file.ocr' && e.target === `file:${up.file_id}`);
  assert.equal(au.length, 1);
  assert.equal(au[0].actor_id, w.b.user.id);
  assert.equal(au[0].detail.kept_in_chat, false);
  assert.ok(!JSON.stringify(au[0]).includes('团建'), 'no text in the audit');
});

test('a photo uploaded just for recognition (no message): its uploader only', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'ocr-own' });
  const up = await uploadFile(w.a, conv.id, fs.readFileSync(path.join(dir, 'note.png')), 'IMG_2001.png');
  assert.equal(up.state, 'ready', JSON.stringify(up));
  const r = await w.a.post(`/files/${up.file_id}/ocr`, {});
  assert.equal(r.status, 200, r.text);
  assert.ok(norm(r.body.text).includes('周五下午三点开会'), r.body.text);
  assert.ok(r.body.text.includes('Friday'), r.body.text);
  // b is in the conversation, but no message delivered it to b
  assertError(await w.b.post(`/files/${up.file_id}/ocr`, {}), 404, 'not_found');
});

test('a marked page the policy holds: text kept in the chat, officers alerted ocr.marked', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'ocr-marked' });
  const up = await uploadFile(w.a, conv.id, fs.readFileSync(path.join(dir, 'commercial.png')), '定价.png');
  const wo = await Ws.open(w.o);
  try {
    const r = await w.a.post(`/files/${up.file_id}/ocr`, {});
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.kept_in_chat, true);
    assert.ok(norm(r.body.text).includes('新产品定价策略'), r.body.text);
    assert.ok(r.body.guard.findings.some((f) => f.category === 'marking'), JSON.stringify(r.body.guard));
    const ev = await wo.waitType('alert.new', (e) => e.alert.category === 'ocr.marked');
    assert.equal(ev.alert.user_id, w.a.user.id);
    assert.equal(ev.alert.conversation_id, conv.id);
    assert.ok(ev.alert.findings.some((f) => f.category === 'marking' && f.file && f.file.id === up.file_id), JSON.stringify(ev.alert.findings));
    // the officer opens the picture from the alert
    const got = await fetch(`${w.o.base}/api/v1/files/${up.file_id}`, { headers: { Authorization: `Bearer ${w.o.token}` } });
    assert.equal(got.status, 200);
  } finally { wo.close(); }
  const au = (await auditEntries(w.admin)).filter((e) => e.event === 'file.ocr' && e.target === `file:${up.file_id}`);
  assert.equal(au.length, 1);
  assert.equal(au[0].detail.kept_in_chat, true);
});

test('a classified page (机密★, blocked by the default policy): no text; officers are told (ocr.blocked)', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'ocr-blocked' });
  const up = await uploadFile(w.a, conv.id, fs.readFileSync(path.join(dir, 'page_clean.png')), '红头.png');
  const wo = await Ws.open(w.o);
  try {
    const r = await w.a.post(`/files/${up.file_id}/ocr`, {});
    assertError(r, 403, 'ocr_blocked');
    assert.equal(r.body.text, undefined);
    assert.ok(!r.text.includes('学校安全'), 'no text in the refusal');
    assert.ok(r.body.guard.findings.some((f) => f.category === 'marking'));
    const ev = await wo.waitType('alert.new', (e) => e.alert.category === 'ocr.blocked');
    assert.equal(ev.alert.verdict, 'block');
    assert.equal(ev.alert.user_id, w.a.user.id);
  } finally { wo.close(); }
});

test('refusals: a file that is not a picture; too many requests', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'ocr-limits' });
  const up = await uploadFile(w.a, conv.id, Buffer.from('plain words\n'), 'a.txt');
  assertError(await w.a.post(`/files/${up.file_id}/ocr`, {}), 422, 'ocr_not_image');
  // the bucket (ocr_burst 8 in this server's config) runs dry
  const pic = await uploadFile(w.c, (await conversation(w.c, [w.a])).id, fs.readFileSync(path.join(dir, 'ok.png')), 'ok.png');
  let limited = null;
  for (let i = 0; i < 12 && !limited; i++) {
    const r = await w.c.post(`/files/${pic.file_id}/ocr`, {});
    if (r.status === 429) limited = r;
    else assert.equal(r.status, 200, r.text);
  }
  assert.ok(limited, 'no 429 after the burst');
  assertError(limited, 429, 'rate_limited');
  assert.ok(Number(limited.headers.get('retry-after')) >= 1);
});
