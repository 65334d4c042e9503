'use strict';
// Files in messages against the real server: a file is uploaded (tus),
// inspected, then sent; the message's verdict is the strongest of its text
// and files; who may download what (members, removed members, non-members,
// external conversations, held and blocked files, recalled messages);
// photographed marked pages stopped; archives that cannot be inspected.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { world } = require('../lib/fixture.js');
const { conversation, assertError, Ws, history } = require('../lib/client.js');
const { sleep, SLOW, ROOT } = require('../lib/server.js');
const { uploadFile } = require('../lib/uploads.js');

// Fixtures first (seconds of work; the server starts after).
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-att-'));
const gen = spawnSync('/usr/bin/python3', [path.join(ROOT, 'tests/file/image/gen_images.py'), dir], { encoding: 'utf8' });
// a zip bomb (64 MiB of zeros in one member: ratio far over the limit) and a password-protected zip
spawnSync('/usr/bin/python3', ['-c', `
import zipfile, sys
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('zeros.bin', b'\\0' * (64 << 20))
`, path.join(dir, 'bomb.zip')]);
// an archive whose member is marked: its findings are located inside the file
spawnSync('/usr/bin/python3', ['-c', `
import zipfile, sys
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('memo.txt', '内部资料\\n同一份文件。\\n'.encode())
`, path.join(dir, 'marked.zip')]);
// a clean one-page PDF (A4 in points) with a red band, for its preview
spawnSync('/usr/bin/python3', ['-c', `
import cairo, sys
s = cairo.PDFSurface(sys.argv[1], 595, 842)
cr = cairo.Context(s)
cr.set_source_rgb(0.8, 0, 0); cr.rectangle(0, 0, 595, 200); cr.fill()
cr.set_source_rgb(0, 0, 0); cr.set_font_size(16); cr.move_to(72, 300); cr.show_text('quarterly report')
cr.show_page(); s.finish()
`, path.join(dir, 'report.pdf')]);
// a picture of a form with an ID number: personal data in the pixels (OCR)
spawnSync('/usr/bin/python3', ['-c', `
import sys
from PIL import Image, ImageDraw, ImageFont
f = ImageFont.truetype('/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc', 40)
im = Image.new('RGB', (1000, 400), 'white'); d = ImageDraw.Draw(im)
d.text((40, 60), '客户信息登记表', font=f, fill='black')
d.text((40, 160), '身份证号：11010519491231002X', font=f, fill='black')
im.save(sys.argv[1])
`, path.join(dir, 'idform.png')]);
fs.writeFileSync(path.join(dir, 'secret.txt'), '机密★10年 the plan\n');
const zipped = spawnSync('zip', ['-q', '-j', '-P', 'pw', path.join(dir, 'locked.zip'), path.join(dir, 'secret.txt')]);

after(() => fs.rmSync(dir, { recursive: true, force: true }));

const w = world({ a: {}, b: {}, c: {}, x: { external: true }, o: { role: 'officer' } });

let n = 0;
function sendFiles(api, convId, ids, text, extra = {}) {
  const body = { client_id: `att-${++n}`, attachments: ids, ...extra };
  if (text !== undefined) body.text = text;
  return api.req('POST', `/conversations/${convId}/messages`, body);
}

async function download(api, fileId) {
  const r = await fetch(`${api.base}/api/v1/files/${fileId}`, { headers: { Authorization: `Bearer ${api.token}` } });
  return { status: r.status, headers: r.headers, bytes: Buffer.from(await r.arrayBuffer()) };
}

test('a file sent with text: in the ack, the event, history; members download it, others get 404', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'att' });
  const ws = await Ws.open(w.b);
  try {
    const bytes = Buffer.from('quarterly meeting notes\n'.repeat(200));
    const up = await uploadFile(w.a, conv.id, bytes, '会议纪要.txt');
    assert.equal(up.state, 'ready', JSON.stringify(up));
    const r = await sendFiles(w.a, conv.id, [up.file_id], 'the notes');
    assert.equal(r.status, 201, r.text);
    const att = r.body.message.attachments;
    assert.equal(att.length, 1);
    assert.deepEqual({ id: att[0].id, name: att[0].name, size: att[0].size, kind: att[0].kind },
      { id: up.file_id, name: '会议纪要.txt', size: bytes.length, kind: 'file' });
    assert.equal(att[0].mime, 'text/plain');
    const ev = await ws.waitType('message.new', (e) => e.message.id === r.body.message.id);
    assert.equal(ev.message.attachments[0].id, up.file_id);
    const h = await history(w.b, conv.id);
    assert.equal(h.body.messages.find((m) => m.id === r.body.message.id).attachments[0].id, up.file_id);
    const d = await download(w.b, up.file_id);
    assert.equal(d.status, 200);
    assert.ok(d.bytes.equals(bytes));
    assert.match(d.headers.get('content-disposition'), /filename\*=UTF-8''%E4%BC%9A%E8%AE%AE%E7%BA%AA%E8%A6%81\.txt$/);
    assert.match(d.headers.get('content-security-policy'), /sandbox/);
    assert.equal((await download(w.c, up.file_id)).status, 404, 'not a member');
    // files alone, no text
    const only = await sendFiles(w.a, conv.id, [up.file_id]);
    assert.equal(only.status, 201, only.text);
    assert.equal(only.body.message.attachments.length, 1);
  } finally { ws.close(); }
});

// The size of a baseline or progressive JPEG (its SOF marker).
function jpegSize(b) {
  for (let i = 2; i + 9 < b.length;) {
    if (b[i] !== 0xff) return null;
    const m = b[i + 1], len = b.readUInt16BE(i + 2);
    if (m >= 0xc0 && m <= 0xc3) return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    i += 2 + len;
  }
  return null;
}

test('a PDF gets a preview of its first page, served like an image thumbnail', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'att-pdf' });
  const up = await uploadFile(w.a, conv.id, fs.readFileSync(path.join(dir, 'report.pdf')), 'report.pdf');
  assert.equal(up.state, 'ready', JSON.stringify(up));
  assert.equal(up.mime, 'application/pdf');
  const r = await sendFiles(w.a, conv.id, [up.file_id], 'the report');
  assert.equal(r.status, 201, r.text);
  const att = r.body.message.attachments[0];
  assert.equal(att.kind, 'file');
  assert.equal(att.thumbnail, true, JSON.stringify(att));
  const get = (api) => fetch(`${api.base}/api/v1/files/${up.file_id}/thumbnail`, { headers: { Authorization: `Bearer ${api.token}` } });
  const t = await get(w.b);
  assert.equal(t.status, 200);
  assert.equal(t.headers.get('content-type'), 'image/jpeg');
  const jpg = Buffer.from(await t.arrayBuffer());
  // A4 portrait: 320 px high, the width in proportion
  const size = jpegSize(jpg);
  assert.ok(size && size.height === 320 && Math.abs(size.width - 595 * 320 / 842) < 1.5, JSON.stringify(size));
  assert.equal((await get(w.c)).status, 404, 'not a member: nothing');
  // no alert names it: an officer cannot read its text
  assert.equal((await w.o.req('GET', `/officer/files/${up.file_id}/text`)).status, 404);
});

test('limits and unknown files: too many, not found, someone else\'s upload', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'att-limits' });
  const ids = Array.from({ length: 10 }, (_, i) => `${i}`.padStart(32, '0'));
  assertError(await sendFiles(w.a, conv.id, ids, 'x'), 422, 'too_many_attachments');
  // nine is the limit, and is fine
  const nine = [];
  for (let i = 0; i < 9; i++) nine.push((await uploadFile(w.a, conv.id, Buffer.from(`file ${i}\n`), `n${i}.txt`)).file_id);
  const r9 = await sendFiles(w.a, conv.id, nine, 'nine files');
  assert.equal(r9.status, 201, r9.text);
  assert.deepEqual(r9.body.message.attachments.map((a) => a.id), nine, 'all nine, in order');
  assertError(await sendFiles(w.a, conv.id, ['0'.repeat(32)], 'x'), 404, 'attachment_not_found');
  const up = await uploadFile(w.b, conv.id, Buffer.from('mine, not yours'), 'b.txt');
  assertError(await sendFiles(w.a, conv.id, [up.file_id], 'x'), 404, 'attachment_not_found');
  const bad = await w.a.req('POST', `/conversations/${conv.id}/messages`, { client_id: 'bad-att', text: 'x', attachments: 'nope' });
  assert.equal(bad.status, 400);
});

test('a photographed marked page is stopped: blocked upload, the send refused naming rule and place', async () => {
  assert.equal(gen.status, 0, gen.stderr);
  const conv = await conversation(w.a, [w.b], { title: 'att-marked' });
  const up = await uploadFile(w.a, conv.id, fs.readFileSync(path.join(dir, 'page_photo.jpg')), 'IMG_0001.jpg');
  assert.equal(up.state, 'blocked', JSON.stringify(up));
  assert.equal(up.verdict, 'block');
  assert.ok(up.findings.some((f) => /^marking\./.test(f.rule)), JSON.stringify(up.findings));
  const r = await sendFiles(w.a, conv.id, [up.file_id], 'look at this');
  assertError(r, 403, 'attachment_blocked');
  assert.ok(r.body.error.findings.some((f) => f.location.startsWith('IMG_0001.jpg')), r.text);
  // nobody but the sender can fetch it
  assert.equal((await download(w.b, up.file_id)).status, 404);
  assert.equal((await download(w.a, up.file_id)).status, 200);
  // the officers' alert names the file (name, type, size, where), and an
  // officer may open it from there: audited
  const alerts = await w.o.ok('GET', `/alerts?conversation_id=${conv.id}`);
  const al = alerts.alerts.find((x) => x.verdict === 'block');
  assert.ok(al, JSON.stringify(alerts));
  const ff = al.findings.find((f) => f.file && f.file.id === up.file_id);
  assert.ok(ff, JSON.stringify(al.findings));
  assert.deepEqual({ name: ff.file.name, mime: ff.file.mime }, { name: 'IMG_0001.jpg', mime: 'image/jpeg' });
  assert.ok(ff.file.size > 0 && ff.location.startsWith('IMG_0001.jpg'));
  // and the excerpt: what was read there
  assert.ok(al.findings.some((f) => f.file && f.file.id === up.file_id && typeof f.excerpt === 'string' && f.excerpt.length > 0),
    `an excerpt: ${JSON.stringify(al.findings)}`);
  assert.equal((await download(w.o, up.file_id)).status, 200, 'the officer opens it');
  // and read what the guard read in it: the page's OCR text, located
  const txt = await w.o.ok('GET', `/officer/files/${up.file_id}/text`);
  assert.equal(txt.file.name, 'IMG_0001.jpg');
  assert.ok(txt.ocr_images >= 1, JSON.stringify(txt));
  const ocr = txt.parts.map((p) => p.text).join('\n');
  assert.ok(/教育局|机密|份号/.test(ocr), `the OCR text: ${JSON.stringify(txt.parts)}`);
  assert.ok(txt.parts.every((p) => p.location.startsWith('IMG_0001.jpg')), JSON.stringify(txt.parts));
  // members cannot, whoever they are
  assert.equal((await w.b.req('GET', `/officer/files/${up.file_id}/text`)).status, 403);
  assert.equal((await w.a.req('GET', `/officer/files/${up.file_id}/text`)).status, 403);
  const audit = await w.o.ok('GET', '/audit?limit=200');
  assert.ok(audit.entries.some((e) => e.event === 'file.open' && e.target === `file:${up.file_id}`), 'file.open audited');
  assert.ok(audit.entries.some((e) => e.event === 'file.text' && e.target === `file:${up.file_id}`), 'file.text audited');
  const h = await history(w.b, conv.id);
  assert.ok(!h.text.includes('IMG_0001'), 'nothing of it in history');
});

test('a held file needs a justification; the message carries it once justified', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'att-held' });
  const up = await uploadFile(w.a, conv.id, fs.readFileSync(path.join(dir, 'page_copyno.png')), 'copy.png');
  assert.equal(up.state, 'held', JSON.stringify(up));
  const r = await sendFiles(w.a, conv.id, [up.file_id], 'copy for the archive');
  assertError(r, 409, 'guard_confirm');
  assert.equal((await download(w.b, up.file_id)).status, 404, 'held: not delivered');
  const ok = await sendFiles(w.a, conv.id, [up.file_id], 'copy for the archive', { justification: 'the archive asked for it' });
  assert.equal(ok.status, 201, ok.text);
  assert.equal((await download(w.b, up.file_id)).status, 200);
  // the officers are told, with the reason and the file's findings; the override is audited
  const alerts = await w.o.ok('GET', `/alerts?conversation_id=${conv.id}`);
  const al = alerts.alerts.find((x) => x.message_id === ok.body.message.id);
  assert.ok(al, JSON.stringify(alerts));
  assert.equal(al.justification, 'the archive asked for it');
  assert.ok(al.findings.some((f) => f.file && f.file.id === up.file_id && f.file.name === 'copy.png'), JSON.stringify(al.findings));
  const audit = await w.o.ok('GET', '/audit?limit=200');
  assert.ok(audit.entries.some((e) => e.event === 'guard.override' && e.target === `message:${ok.body.message.id}`
    && JSON.stringify(e.detail).includes('"justified":true')), 'the override is audited');
});

test('recall removes the file for everyone; a removed member loses access', async () => {
  const conv = await conversation(w.a, [w.b, w.c], { title: 'att-recall' });
  const bytes = Buffer.from('to be recalled\n'.repeat(100));
  const up = await uploadFile(w.a, conv.id, bytes, 'r.txt');
  const r = await sendFiles(w.a, conv.id, [up.file_id], 'oops');
  assert.equal(r.status, 201, r.text);
  assert.equal((await download(w.c, up.file_id)).status, 200);
  await w.a.ok('DELETE', `/conversations/${conv.id}/members/${w.c.user.id}`, undefined, [200, 204]);
  assert.equal((await download(w.c, up.file_id)).status, 404, 'removed member');
  assert.equal((await download(w.b, up.file_id)).status, 200);
  await w.a.ok('POST', `/messages/${r.body.message.id}/recall`, {}, 204);
  for (const who of [w.a, w.b]) assert.equal((await download(who, up.file_id)).status, 404, 'recalled');
  const h = await history(w.b, conv.id);
  assert.deepEqual(h.body.messages.find((m) => m.id === r.body.message.id).attachments, []);
});

test('external conversations: a file inspected for internal readers is judged again for outsiders', async () => {
  const inner = await conversation(w.a, [w.b], { title: 'att-inner' });
  const ext = await conversation(w.a, [w.x], { title: 'att-ext' });
  // clean: the external judgement delivers it
  const up = await uploadFile(w.a, inner.id, Buffer.from('internal notes\n'), 'n.txt');
  const r = await sendFiles(w.a, ext.id, [up.file_id], 'fyi');
  assert.equal(r.status, 201, r.text);
  assert.equal((await download(w.x, up.file_id)).status, 200);
  // an internal-only marking: a warning inside, refused outside naming the
  // external rule and the place (the file's own name first)
  const mk = await uploadFile(w.a, inner.id, Buffer.from('内部资料\n工作安排如下。\n'), '安排.txt');
  assert.equal(mk.state, 'ready', JSON.stringify(mk));
  assert.equal(mk.verdict, 'warn');
  const rb = await sendFiles(w.a, ext.id, [mk.file_id], 'fyi');
  assertError(rb, 403, 'attachment_blocked');
  assert.match(rb.body.error.message, /internal-marking-external/);
  const fb = rb.body.error.findings.find((f) => f.rule === 'marking.internal');
  assert.ok(fb && fb.location.startsWith('安排.txt'), rb.text);
  assert.equal(fb.action, 'block', 'the finding carries the external action');
  assert.equal((await download(w.x, mk.file_id)).status, 404);
  // personal data: flagged inside, masked outside — a text file cannot be
  // masked, so the sender justifies it first
  const pd = await uploadFile(w.a, inner.id, Buffer.from('客户身份证号11010519491231002X，请联系。\n'), 'kh.txt');
  assert.equal(pd.verdict, 'warn', JSON.stringify(pd));
  assertError(await sendFiles(w.a, ext.id, [pd.file_id], 'customer'), 409, 'guard_confirm');
  assert.equal((await download(w.x, pd.file_id)).status, 404, 'held: not delivered');
  const ok = await sendFiles(w.a, ext.id, [pd.file_id], 'customer', { justification: 'the customer asked for a copy' });
  assert.equal(ok.status, 201, ok.text);
  assert.equal((await download(w.x, pd.file_id)).status, 200);
  // uploaded for the external conversation itself: inspected with its scope, delivered
  const up2 = await uploadFile(w.a, ext.id, Buffer.from('public notes\n'), 'p.txt');
  assert.equal(up2.state, 'ready');
  assert.equal((await sendFiles(w.a, ext.id, [up2.file_id], 'fyi')).status, 201);
  assert.equal((await download(w.x, up2.file_id)).status, 200);
});

// mask cannot star out a number in a picture's pixels: such a picture is
// held like confirm (POLICY.md, "mask on files"), uploaded into the external
// conversation or sent there from an internal one; before, it was delivered
// as it was, the ID number readable.
test('a picture whose masked finding is in its pixels (an ID number, OCR) is held for outsiders, not delivered unmasked', async () => {
  const ext = await conversation(w.a, [w.x], { title: 'att-mask-ext' });
  const inner = await conversation(w.a, [w.b], { title: 'att-mask-inner' });
  const png = fs.readFileSync(path.join(dir, 'idform.png'));
  // uploaded for the external conversation: inspected with its scope (pii-external: mask)
  const up = await uploadFile(w.a, ext.id, png, 'form.png');
  assert.equal(up.verdict, 'mask', JSON.stringify(up));
  assert.ok(up.findings.some((f) => f.rule === 'pii.cn_id' && f.action === 'mask' && f.location.startsWith('form.png!')), JSON.stringify(up.findings));
  assert.equal(up.state, 'held', 'the sender is told a reason is needed before sending');
  assertError(await sendFiles(w.a, ext.id, [up.file_id], 'the form'), 409, 'guard_confirm');
  assert.equal((await download(w.x, up.file_id)).status, 404, 'nothing reached the outsider');
  // uploaded inside (a warning there), then sent outside: judged again, held the same way
  const up2 = await uploadFile(w.a, inner.id, png, 'form2.png');
  assert.equal(up2.state, 'ready', JSON.stringify(up2));
  assertError(await sendFiles(w.a, ext.id, [up2.file_id], 'the form'), 409, 'guard_confirm');
  assert.equal((await download(w.x, up2.file_id)).status, 404);
  // justified: delivered (and alerted, as every justified send)
  const ok = await sendFiles(w.a, ext.id, [up.file_id], 'the form', { justification: 'the customer sent it to us' });
  assert.equal(ok.status, 201, ok.text);
  assert.equal((await download(w.x, up.file_id)).status, 200);
});

test('the same bytes under another name: the cached inspection names the new file', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'att-rename' });
  const bytes = fs.readFileSync(path.join(dir, 'marked.zip'));
  const first = await uploadFile(w.a, conv.id, bytes, 'first.zip');
  const second = await uploadFile(w.a, conv.id, bytes, 'second.zip');
  assert.ok(first.findings.some((f) => f.location === 'first.zip!memo.txt'), JSON.stringify(first));
  assert.ok(second.findings.length > 0, JSON.stringify(second));
  for (const f of second.findings) assert.ok(!(f.location || '').includes('first.zip'), JSON.stringify(second));
  assert.ok(second.findings.some((f) => f.location === 'second.zip!memo.txt'), JSON.stringify(second));
  // the sender and the officers see the new name too
  const r = await sendFiles(w.a, conv.id, [second.file_id], 'again');
  assert.equal(r.status, 201, r.text);
  assert.ok(r.body.guard.findings.every((f) => !(f.location || '').includes('first.zip')), r.text);
});

test('a zip bomb and a password-protected zip end uninspectable, in bounded time, and are not delivered as clean', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'att-hostile' });
  for (const name of ['bomb.zip', 'locked.zip']) {
    if (name === 'locked.zip') assert.equal(zipped.status, 0, 'zip -P made the fixture');
    const t = Date.now();
    const up = await uploadFile(w.a, conv.id, fs.readFileSync(path.join(dir, name)), name);
    assert.ok(Date.now() - t < 60000 * SLOW, `${name}: ${Date.now() - t} ms`);
    assert.ok(up.findings.some((f) => /^uninspectable/.test(f.rule)), `${name}: ${JSON.stringify(up)}`);
    assert.notEqual(up.verdict, 'allow', name);
  }
});

test('base64 smuggling in the text is still caught next to a file', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'att-b64' });
  const up = await uploadFile(w.a, conv.id, Buffer.from('clean\n'), 'c.txt');
  const smuggled = Buffer.from('密级：机密★10年\n内部资料 the plan\n'.repeat(20)).toString('base64');
  const r = await sendFiles(w.a, conv.id, [up.file_id], `data: ${smuggled}`);
  assert.ok([403, 409].includes(r.status), `${r.status} ${r.text}`);
});

test('a forward carries the files, judged for each target', async () => {
  const src = await conversation(w.a, [w.b], { title: 'att-fwd-src' });
  const dst = await conversation(w.b, [w.c], { title: 'att-fwd-dst' });
  const ext = await conversation(w.b, [w.x], { title: 'att-fwd-ext' });
  const up = await uploadFile(w.a, src.id, Buffer.from('forward me\n'.repeat(50)), 'fwd.txt');
  const m = await sendFiles(w.a, src.id, [up.file_id], 'have a look');
  assert.equal(m.status, 201, m.text);
  const r = await w.b.ok('POST', `/messages/${m.body.message.id}/forward`, { conversation_ids: [dst.id, ext.id], client_id: 'fwd-att' }, 200);
  const byConv = Object.fromEntries(r.results.map((x) => [x.conversation_id, x]));
  assert.equal(byConv[dst.id].status, 201, JSON.stringify(byConv[dst.id]));
  assert.equal(byConv[dst.id].message.attachments[0].id, up.file_id);
  assert.equal((await download(w.c, up.file_id)).status, 200, 'a member of the target downloads it');
  // judged again for the outsiders (clean for them too): delivered
  assert.equal(byConv[ext.id].status, 201, JSON.stringify(byConv[ext.id]));
  assert.equal((await download(w.x, up.file_id)).status, 200);
});

test('a forward into an external conversation gets the external verdict of the file', async () => {
  const src = await conversation(w.a, [w.b], { title: 'att-fwd2-src' });
  const ext = await conversation(w.b, [w.x], { title: 'att-fwd2-ext' });
  const inner = await conversation(w.b, [w.c], { title: 'att-fwd2-inner' });
  const up = await uploadFile(w.a, src.id, Buffer.from('内部资料\n下周的安排。\n'), 'plan.txt');
  assert.equal(up.verdict, 'warn', JSON.stringify(up));
  const m = await sendFiles(w.a, src.id, [up.file_id], 'the plan');
  assert.equal(m.status, 201, m.text);
  const r = await w.b.ok('POST', `/messages/${m.body.message.id}/forward`, { conversation_ids: [inner.id, ext.id], client_id: 'fwd-att2' }, 200);
  const byConv = Object.fromEntries(r.results.map((x) => [x.conversation_id, x]));
  assert.equal(byConv[inner.id].status, 201, JSON.stringify(byConv[inner.id]));
  assert.equal(byConv[ext.id].status, 403, JSON.stringify(byConv[ext.id]));
  assert.equal(byConv[ext.id].error.code, 'attachment_blocked');
  assert.ok(byConv[ext.id].error.findings.some((f) => f.rule === 'marking.internal' && f.location.startsWith('plan.txt')),
    JSON.stringify(byConv[ext.id]));
  assert.equal((await download(w.x, up.file_id)).status, 404, 'nothing reached the outsider');
  const h = await history(w.x, ext.id);
  assert.ok(!h.text.includes('plan.txt'), 'nothing of it in the external history');
});

// A marked page photographed sideways: stored turned without a tag (a scan,
// a forwarded copy) or stored sideways with EXIF Orientation 6, as a phone
// stores every portrait shot. Both are read upright and stopped.
test('a marked page sent sideways (turned 90°, or Orientation 6) is stopped in chat', async () => {
  assert.equal(gen.status, 0, gen.stderr);
  const conv = await conversation(w.a, [w.b], { title: 'att-sideways' });
  for (const [fixture, name] of [['page_rot90.jpg', 'IMG_0090.jpg'], ['page_exif6.jpg', 'IMG_0006.jpg']]) {
    const up = await uploadFile(w.a, conv.id, fs.readFileSync(path.join(dir, fixture)), name);
    assert.equal(up.state, 'blocked', `${fixture}: ${JSON.stringify(up)}`);
    assert.ok(up.findings.some((f) => f.rule === 'marking.classified' && f.location.startsWith(name)),
      `${fixture}: ${JSON.stringify(up.findings)}`);
    const r = await sendFiles(w.a, conv.id, [up.file_id], 'the notice');
    assertError(r, 403, 'attachment_blocked');
    assert.equal((await download(w.b, up.file_id)).status, 404, `${fixture}: not delivered`);
  }
  const h = await history(w.b, conv.id);
  assert.ok(!h.text.includes('IMG_00'), 'nothing of them in history');
});

// The EXIF Orientation tag of a JPEG's APP1, or 0; and whether any other
// EXIF content (GPS, time, device) is left.
function jpegOrientation(bytes) {
  for (let p = 2; p + 4 <= bytes.length && bytes[p] === 0xff && bytes[p + 1] !== 0xda;) {
    const len = bytes.readUInt16BE(p + 2);
    if (bytes[p + 1] === 0xe1 && bytes.subarray(p + 4, p + 10).equals(Buffer.from('Exif\0\0'))) {
      const t = bytes.subarray(p + 10, p + 2 + len);
      const le = t[0] === 0x49;
      const u16 = (o) => (le ? t.readUInt16LE(o) : t.readUInt16BE(o));
      const u32 = (o) => (le ? t.readUInt32LE(o) : t.readUInt32BE(o));
      const ifd = u32(4);
      const tags = [];
      for (let i = 0; i < u16(ifd); i++) tags.push([u16(ifd + 2 + 12 * i), u16(ifd + 2 + 12 * i + 8)]);
      return tags;
    }
    p += 2 + len;
  }
  return [];
}

test('a portrait photo keeps its Orientation through the metadata strip, and nothing else of its EXIF', async () => {
  assert.equal(gen.status, 0, gen.stderr);
  const conv = await conversation(w.a, [w.b], { title: 'att-portrait' });
  const orig = fs.readFileSync(path.join(dir, 'portrait_gps.jpg'));
  assert.ok(orig.includes(Buffer.from('Huawei')), 'the fixture has a Make');
  const up = await uploadFile(w.a, conv.id, orig, 'portrait.jpg');
  assert.equal(up.state, 'ready', JSON.stringify(up));
  assert.equal(up.location_removed, true, JSON.stringify(up));
  const m = await sendFiles(w.a, conv.id, [up.file_id], 'me');
  assert.equal(m.status, 201, m.text);
  // the stored copy (the sender's download): Orientation 6 alone
  const own = await download(w.a, up.file_id);
  assert.equal(own.status, 200);
  assert.deepEqual(jpegOrientation(own.bytes), [[0x0112, 6]]);
  for (const s of ['Huawei', 'Mate 60', '2023:09:01']) assert.ok(!own.bytes.includes(Buffer.from(s)), `${s} removed`);
  // the other member's copy is the per-viewer watermarked one, re-encoded
  // without EXIF: its pixels are turned upright instead (stored 320×240
  // sideways with Orientation 6; seen 240 wide, 320 high)
  const theirs = await download(w.b, up.file_id);
  assert.equal(theirs.status, 200);
  assert.deepEqual(jpegOrientation(theirs.bytes), [], 'no EXIF in the marked copy');
  assert.deepEqual(jpegSize(theirs.bytes), { width: 240, height: 320 }, 'upright, not sideways');
});
