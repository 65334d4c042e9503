'use strict';
// The compliance export with the files' bytes (docs/API.md, "Compliance
// export"): in JSON Lines each file follows its message as a "file" record
// with content_base64; in EML each file is a MIME attachment that Python's
// email package reads back byte for byte; a file past the per-message cap
// (8 MiB) is named with a clear note instead of its bytes; files=false
// exports metadata only; a recalled message exports no file.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const { world } = require('../lib/fixture.js');
const { conversation, auditEntries } = require('../lib/client.js');
const { uploadFile } = require('../lib/uploads.js');

const w = world({ off: { role: 'officer' }, a: { display_name: '张三' }, b: {} });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-expfiles-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const s = {};
let n = 0;
function sendFiles(api, convId, ids, text) {
  return api.req('POST', `/conversations/${convId}/messages`, { client_id: `ef-${++n}`, attachments: ids, text });
}

async function exportRaw(q) {
  const res = await fetch(`${w.srv.base}/api/v1/officer/export?${new URLSearchParams(q)}`, { headers: { Authorization: `Bearer ${w.off.token}` } });
  const buf = Buffer.from(await res.arrayBuffer());
  assert.equal(res.status, 200, buf.toString('utf8', 0, 300));
  assert.equal(res.headers.get('x-cordon-next-cursor'), null, 'one page');
  return buf;
}

async function download(api, id) {
  const r = await fetch(`${api.base}/api/v1/files/${id}`, { headers: { Authorization: `Bearer ${api.token}` } });
  assert.equal(r.status, 200);
  return Buffer.from(await r.arrayBuffer());
}

const lines = (buf) => buf.toString('utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l));

test('setup: a note, a picture, a file over the cap, a recalled file', async () => {
  s.conv = await conversation(w.a, [w.b], { title: '附件导出' });
  s.from = Date.now() - 1;
  const gen = spawnSync('/usr/bin/python3', ['-c', `
import sys
from PIL import Image
img = Image.new("RGB", (64, 48), (30, 120, 200))
img.save(sys.argv[1], "PNG")
`, path.join(dir, 'p.png')], { encoding: 'utf8' });
  assert.equal(gen.status, 0, gen.stderr);
  const note = Buffer.from('会议纪要：周三讨论预算。\n'.repeat(50));
  const png = fs.readFileSync(path.join(dir, 'p.png'));
  const big = Buffer.from('a quarterly log line that repeats\n'.repeat(270000)); // ~9 MiB
  s.up = {};
  for (const [k, bytes, name] of [['note', note, '纪要.txt'], ['png', png, '图.png'], ['big', big, 'big.log.txt']]) {
    const up = await uploadFile(w.a, s.conv.id, bytes, name);
    assert.equal(up.state, 'ready', JSON.stringify(up));
    s.up[k] = up.file_id;
  }
  const m1 = await sendFiles(w.a, s.conv.id, [s.up.note, s.up.png], '纪要和截图');
  assert.equal(m1.status, 201, m1.text);
  const m2 = await sendFiles(w.a, s.conv.id, [s.up.big], 'the log');
  assert.equal(m2.status, 201, m2.text);
  const gone = await uploadFile(w.a, s.conv.id, Buffer.from('recalled attachment\n'), 'gone.txt');
  const m3 = await sendFiles(w.a, s.conv.id, [gone.file_id], 'oops');
  await w.a.ok('POST', `/messages/${m3.body.message.id}/recall`, {}, 204);
  s.msgs = [m1.body.message, m2.body.message, m3.body.message];
  // what the members download is what the export must carry
  s.bytes = { note: await download(w.b, s.up.note), png: await download(w.b, s.up.png) };
  s.bigSize = big.length;
  s.to = Date.now() + 1000;
});

test('JSON Lines: a file record with the bytes after each message; over the cap named, not dropped', async () => {
  const recs = lines(await exportRaw({ conversation_id: s.conv.id, from: s.from, to: s.to, reason: '合规检查（附件）' }));
  const types = recs.map((r) => r.type);
  const i1 = recs.findIndex((r) => r.type === 'message' && r.id === s.msgs[0].id);
  assert.deepEqual(types.slice(i1, i1 + 3), ['message', 'file', 'file'], 'files right after their message');
  for (const [k, rec] of [['note', recs[i1 + 1]], ['png', recs[i1 + 2]]]) {
    assert.equal(rec.id, s.up[k]);
    assert.equal(rec.message_id, s.msgs[0].id);
    assert.ok(Buffer.from(rec.content_base64, 'base64').equals(s.bytes[k]), `${k}: the bytes members download`);
    assert.equal(rec.size, s.bytes[k].length);
    assert.equal(rec.sha256, crypto.createHash('sha256').update(s.bytes[k]).digest('hex'));
    assert.equal(rec.omitted, undefined);
  }
  assert.equal(recs[i1 + 1].name, '纪要.txt');
  assert.equal(recs[i1 + 2].mime, 'image/png');
  const big = recs.find((r) => r.type === 'file' && r.id === s.up.big);
  assert.deepEqual([big.content_base64, big.omitted, big.cap, big.size, big.message_id], [null, 'over_cap', 8 << 20, s.bigSize, s.msgs[1].id]);
  const rec = recs.find((r) => r.type === 'message' && r.id === s.msgs[2].id);
  assert.equal(rec.state, 'recalled');
  assert.ok(!recs.some((r) => r.type === 'file' && r.message_id === s.msgs[2].id), 'a recalled message has no files');
  // metadata only when asked
  const meta = lines(await exportRaw({ conversation_id: s.conv.id, from: s.from, to: s.to, reason: 'meta', files: 'false' }));
  assert.ok(!meta.some((r) => r.type === 'file'));
  assert.equal(meta.find((r) => r.id === s.msgs[0].id).attachments.length, 2);
  const entries = await auditEntries(w.admin);
  const row = entries.find((e) => e.event === 'officer.export' && e.detail.reason === '合规检查（附件）');
  assert.deepEqual([row.detail.files, row.detail.files_omitted], [2, 1]);
});

test('EML: the files are MIME attachments a mail parser reads back byte for byte', async () => {
  const file = path.join(dir, 'export.mbox');
  fs.writeFileSync(file, await exportRaw({ conversation_id: s.conv.id, from: s.from, to: s.to, reason: '邮件格式导出', format: 'eml' }));
  const py = `
import mailbox, json, sys, hashlib
out = []
for m in mailbox.mbox(sys.argv[1]):
    if not m['X-Cordon-Message-Id']:
        continue
    parts = []
    for p in m.walk():
        if p.is_multipart():
            continue
        data = p.get_payload(decode=True)
        parts.append({'type': p.get_content_type(), 'filename': p.get_filename(),
                      'file_id': p['X-Cordon-File-Id'], 'sha256': hashlib.sha256(data).hexdigest(),
                      'text': data.decode('utf-8') if p.get_content_type() == 'text/plain' else None})
    out.append({'id': int(m['X-Cordon-Message-Id']), 'ctype': m.get_content_type(),
                'omitted': m.get_all('X-Cordon-Attachment-Omitted'), 'parts': parts})
print(json.dumps(out))
`;
  const p = spawnSync('python3', ['-c', py, file], { encoding: 'utf8' });
  assert.equal(p.status, 0, p.stderr);
  const mails = JSON.parse(p.stdout);
  const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
  const m1 = mails.find((m) => m.id === s.msgs[0].id);
  assert.equal(m1.ctype, 'multipart/mixed');
  assert.equal(m1.parts[0].text, '纪要和截图');
  assert.deepEqual(m1.parts.slice(1).map((x) => [x.filename, x.file_id, x.sha256]),
    [['纪要.txt', s.up.note, sha(s.bytes.note)], ['图.png', s.up.png, sha(s.bytes.png)]]);
  assert.equal(m1.parts[2].type, 'image/png');
  const m2 = mails.find((m) => m.id === s.msgs[1].id);
  assert.equal(m2.omitted.length, 1);
  assert.match(m2.omitted[0].replace(/\s+/g, ' '), new RegExp(`id=${s.up.big}; reason=over_cap; cap=${8 << 20}`));
  assert.match(m2.parts[1].text, /file omitted: big\.log\.txt .* over the export's cap/);
  const m3 = mails.find((m) => m.id === s.msgs[2].id);
  assert.equal(m3.ctype, 'text/plain', 'a recalled message carries no file');
});

test('cordon export (the CLI) carries the files too; --no-files names them only', () => {
  const args = ['export', '--data', w.srv.storeDir, '--conversation', String(s.conv.id), '--from', String(s.from), '--to', String(s.to), '--reason', '法务保全（附件）'];
  const out = path.join(dir, 'cli.jsonl');
  const r = w.srv.cli([...args, out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /3 files \(0 named only\)/, 'the 9 MiB log fits the CLI\'s 64 MiB cap');
  const recs = lines(fs.readFileSync(out));
  const png = recs.find((x) => x.type === 'file' && x.id === s.up.png);
  assert.ok(Buffer.from(png.content_base64, 'base64').equals(s.bytes.png));
  const big = recs.find((x) => x.type === 'file' && x.id === s.up.big);
  assert.equal(Buffer.from(big.content_base64, 'base64').length, s.bigSize);
  const meta = path.join(dir, 'cli-meta.jsonl');
  const m = w.srv.cli([...args, '--no-files', meta]);
  assert.equal(m.status, 0, m.stderr);
  assert.ok(!lines(fs.readFileSync(meta)).some((x) => x.type === 'file'));
});
