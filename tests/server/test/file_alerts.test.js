'use strict';
// The officers' alert of a refused file says what was found in it, as the
// alert of refused text does: its category is the category of the finding
// that decided (a classified marking in a .docx or on a photographed page
// is "marking", never "none"), in the alert list, the alert itself and the
// audit row. And the officer's "read the file's text" (GET
// /officer/files/{id}/text, which inspects the file again) has a bucket
// of its own: 429 with Retry-After once it is empty.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { world } = require('../lib/fixture.js');
const { conversation, assertError } = require('../lib/client.js');
const { ROOT } = require('../lib/server.js');
const { uploadFile } = require('../lib/uploads.js');

// Fixtures: a .docx whose body starts with a classified marking, and a
// phone photograph of a marked official page (tests/file/image).
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-falert-'));
const gen = spawnSync('/usr/bin/python3', ['-c', `
import io, sys, zipfile
sys.path.insert(0, sys.argv[2])
import gen_images as g
CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
      '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
      'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="word/document.xml"/></Relationships>')
def docx(paras):
    body = ''.join('<w:p><w:r><w:t>%s</w:t></w:r></w:p>' % p for p in paras)
    doc = ('<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
           'wordprocessingml/2006/main"><w:body>%s</w:body></w:document>' % body)
    with zipfile.ZipFile(sys.argv[1] + '/' + paras[1] + '.docx', 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('[Content_Types].xml', CT)
        z.writestr('_rels/.rels', RELS)
        z.writestr('word/document.xml', doc)
docx(['机密★1年', 'plan', '关于召开年度工作会议的通知'])
docx(['会议纪要', 'notes', '项目进展顺利'])
g.write(sys.argv[1], 'photo.jpg', g.phone_photo(g.official_page()))
`, dir, path.join(ROOT, 'tests/file/image')], { encoding: 'utf8' });

after(() => fs.rmSync(dir, { recursive: true, force: true }));

const w = world({ a: {}, b: {}, o: { role: 'officer' } },
  { config: { limits: { file_text_per_minute: 1, file_text_burst: 2 } } });

let n = 0;
const send = (api, convId, ids, text) =>
  api.req('POST', `/conversations/${convId}/messages`, { client_id: `fa-${++n}`, attachments: ids, text });

// The block alert of the conversation, after a refused send.
async function blockAlert(convId) {
  const list = await w.o.ok('GET', `/alerts?conversation_id=${convId}`);
  const al = list.alerts.find((x) => x.verdict === 'block');
  assert.ok(al, JSON.stringify(list));
  return al;
}

for (const [kind, file, name] of [['docx', 'plan.docx', '计划.docx'], ['photo', 'photo.jpg', 'IMG_0002.jpg']]) {
  test(`a blocked ${kind}: the alert's category is the marking's, in the list, the alert and the audit`, async () => {
    assert.equal(gen.status, 0, gen.stderr);
    const conv = await conversation(w.a, [w.b], { title: `fa-${kind}` });
    const up = await uploadFile(w.a, conv.id, fs.readFileSync(path.join(dir, file)), name);
    assert.equal(up.state, 'blocked', JSON.stringify(up));
    const decisive = up.findings.find((f) => f.action === 'block');
    assert.ok(decisive && decisive.category === 'marking', JSON.stringify(up.findings));
    // sent with harmless text: the text has no finding, the file decides
    assertError(await send(w.a, conv.id, [up.file_id], 'see attached'), 403, 'attachment_blocked');
    const al = await blockAlert(conv.id);
    assert.equal(al.category, 'marking', JSON.stringify(al));
    // decided by the policy rule of the finding, as for text (the console words it)
    assert.equal(al.decided_by, decisive.policy_rule, JSON.stringify(al));
    const ff = al.findings.find((f) => f.file && f.file.id === up.file_id && f.category === 'marking');
    assert.ok(ff, JSON.stringify(al.findings));
    // the file is named once at the head of the location, not twice
    assert.ok(ff.location.startsWith(`${name}!`) && !ff.location.startsWith(`${name}!${name}`), ff.location);
    const one = await w.o.ok('GET', `/alerts/${al.id}`);
    assert.equal((one.alert || one).category, 'marking', JSON.stringify(one));
    // the officers' filter by category finds it
    const byCat = await w.o.ok('GET', `/alerts?conversation_id=${conv.id}&category=marking`);
    assert.ok(byCat.alerts.some((x) => x.id === al.id), JSON.stringify(byCat));
    const audit = await w.o.ok('GET', '/audit?limit=200');
    const row = audit.entries.find((e) => e.event === 'guard.block' && e.detail && JSON.parse(typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail)).alert === al.id);
    assert.ok(row, 'the alert\'s audit row');
    const detail = typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail;
    assert.equal(detail.category, 'marking', JSON.stringify(row));
  });
}

test('marked text next to a clean file: the text decides the category, as before', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'fa-text' });
  const up = await uploadFile(w.a, conv.id, fs.readFileSync(path.join(dir, 'notes.docx')), 'notes.docx');
  assert.equal(up.state, 'ready', JSON.stringify(up));
  const r = await send(w.a, conv.id, [up.file_id], '机密★10年 请查收');
  assert.equal(r.status, 403, r.text);
  const al = await blockAlert(conv.id);
  assert.equal(al.category, 'marking', JSON.stringify(al));
});

test('the officer\'s file text has its own bucket: 429 with Retry-After when empty, other officers unaffected', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'fa-text-rate' });
  const up = await uploadFile(w.a, conv.id, fs.readFileSync(path.join(dir, 'plan.docx')), 'plan2.docx');
  assertError(await send(w.a, conv.id, [up.file_id], 'x'), 403, 'attachment_blocked');
  // a file no alert names costs no token (404 first)
  assert.equal((await w.o.req('GET', `/officer/files/${'0'.repeat(32)}/text`)).status, 404);
  // file_text_burst is 2 in this server's configuration
  for (let i = 0; i < 2; i++) {
    const t = await w.o.ok('GET', `/officer/files/${up.file_id}/text`);
    assert.ok(t.parts.some((p) => p.text.includes('机密')), JSON.stringify(t));
  }
  const limited = await w.o.req('GET', `/officer/files/${up.file_id}/text`);
  assertError(limited, 429, 'rate_limited');
  const retry = Number(limited.headers.get('retry-after'));
  assert.ok(retry >= 1 && retry <= 60, `Retry-After ${limited.headers.get('retry-after')}`);
  // not audited: nothing was read
  const audit = await w.o.ok('GET', '/audit?limit=500');
  assert.equal(audit.entries.filter((e) => e.event === 'file.text' && e.target === `file:${up.file_id}`).length, 2);
  // the bucket is the officer's, not the route's
  const o2 = await require('../lib/client.js').makeUser(w.admin, { role: 'officer' });
  assert.equal((await o2.req('GET', `/officer/files/${up.file_id}/text`)).status, 200);
});
