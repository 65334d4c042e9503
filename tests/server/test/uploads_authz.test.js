'use strict';
// The authorisation matrix of files (issue 15), in one place, against the
// real server: who gets what of an upload and of a file, by every path —
// the file, its inline form, its thumbnail, the upload's state, HEAD,
// PATCH, DELETE — for a member, a non-member, a removed member, an external
// member, and for a file delivered, held, blocked and recalled. Every
// refusal is the answer a file that does not exist gets (the same status
// and body), so a guessed id tells nothing. Nothing of a held or blocked
// file (id, name, size) reaches another member by history or by event. The
// download's headers: Content-Type from detection whatever the client
// declared, a safe Content-Disposition whatever the name, inline only for
// images and PDFs, nosniff and a sandboxing CSP always.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { world } = require('../lib/fixture.js');
const { conversation, Ws, history } = require('../lib/client.js');
const { ROOT } = require('../lib/server.js');
const { uploadFile, TUS, b64 } = require('../lib/uploads.js');

// Fixtures before the server starts (seconds of work).
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-authz-'));
const gen = spawnSync('/usr/bin/python3', [path.join(ROOT, 'tests/file/image/gen_images.py'), dir], { encoding: 'utf8' });
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const img = (n) => fs.readFileSync(path.join(dir, n));

const w = world({ a: {}, b: {}, c: {}, r: {}, x: { external: true }, o: { role: 'officer' } });

const NOBODY = '0123456789abcdef0123456789abcdef';
const FILE_PATHS = (id) => [`/files/${id}`, `/files/${id}?inline=1`, `/files/${id}/thumbnail`];

// A file path as a browser asks for it; the body kept for comparison.
async function get(api, p) {
  const r = await fetch(`${api.base}/api/v1${p}`, { headers: { Authorization: `Bearer ${api.token}` } });
  return { status: r.status, headers: r.headers, bytes: Buffer.from(await r.arrayBuffer()) };
}

// What a file that does not exist gets, path by path.
async function missing(api, paths) {
  const out = [];
  for (const p of paths) out.push(await get(api, p));
  return out;
}

// Asserts `who` gets exactly the answer of a missing file on every path.
async function refusedLikeMissing(who, id, what) {
  const want = await missing(who, FILE_PATHS(NOBODY));
  const got = await missing(who, FILE_PATHS(id));
  for (let i = 0; i < got.length; i++) {
    assert.equal(got[i].status, 404, `${what}: ${FILE_PATHS(id)[i]}`);
    assert.equal(got[i].bytes.toString(), want[i].bytes.toString(), `${what}: the same body as a missing file`);
    assert.equal(got[i].headers.get('content-type'), want[i].headers.get('content-type'), what);
  }
}

let n = 0;
const sendFiles = (api, convId, ids, text, extra = {}) =>
  api.req('POST', `/conversations/${convId}/messages`, { client_id: `az-${++n}`, ...(text === undefined ? {} : { text }), attachments: ids, ...extra });

const s = {};

test('setup: a delivered photo, a held page, a blocked page, a recalled photo, an unfinished upload', async () => {
  assert.equal(gen.status, 0, gen.stderr);
  s.conv = await conversation(w.a, [w.b, w.r], { title: 'authz files' });
  s.ext = await conversation(w.a, [w.x], { title: 'authz external' });
  s.wsB = await Ws.open(w.b);
  s.wsX = await Ws.open(w.x);

  s.ok = await uploadFile(w.a, s.conv.id, img('nometa.jpg'), 'ok.jpg');
  assert.equal(s.ok.state, 'ready', JSON.stringify(s.ok));
  assert.equal((await sendFiles(w.a, s.conv.id, [s.ok.file_id], 'a photo')).status, 201);

  s.held = await uploadFile(w.a, s.conv.id, img('page_copyno.png'), 'held-copy.png');
  assert.equal(s.held.state, 'held', JSON.stringify(s.held));
  s.blocked = await uploadFile(w.a, s.conv.id, img('page_photo.jpg'), 'blocked-page.jpg');
  assert.equal(s.blocked.state, 'blocked', JSON.stringify(s.blocked));
  // both tried in the chat: refused (a reason is owed / never), nothing delivered
  assert.equal((await sendFiles(w.a, s.conv.id, [s.held.file_id], 'held')).status, 409);
  assert.equal((await sendFiles(w.a, s.conv.id, [s.blocked.file_id], 'blocked')).status, 403);

  s.gone = await uploadFile(w.a, s.conv.id, img('gps.jpg'), 'recalled.jpg');
  assert.equal(s.gone.state, 'ready', JSON.stringify(s.gone));
  const m = await sendFiles(w.a, s.conv.id, [s.gone.file_id], 'oops');
  assert.equal(m.status, 201, m.text);
  assert.equal((await get(w.b, `/files/${s.gone.file_id}`)).status, 200);
  await w.a.ok('POST', `/messages/${m.body.message.id}/recall`, {}, 204);

  const c = await w.a.req('POST', '/uploads', undefined, {
    headers: { ...TUS, 'Upload-Length': '1000', 'Upload-Metadata': `filename ${b64('half.txt')},conversation_id ${b64(s.conv.id)}` },
  });
  assert.equal(c.status, 201, c.text);
  s.up = c.headers.get('location').split('/').pop();
  const p = await w.a.req('PATCH', `/uploads/${s.up}`, undefined,
    { raw: Buffer.alloc(100, 65), headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' } });
  assert.equal(p.status, 204, p.text);

  // the removed member was a member when all of this happened
  await w.a.ok('DELETE', `/conversations/${s.conv.id}/members/${w.r.user.id}`, undefined, [200, 204]);
});

test('downloads: a member gets a delivered file; a non-member, a removed member and an outsider get what a missing file gets', async () => {
  for (const who of [w.a, w.b]) {
    const d = await get(who, `/files/${s.ok.file_id}`);
    assert.equal(d.status, 200);
    assert.equal((await get(who, `/files/${s.ok.file_id}/thumbnail`)).status, 200);
  }
  await refusedLikeMissing(w.c, s.ok.file_id, 'non-member');
  await refusedLikeMissing(w.r, s.ok.file_id, 'removed member');
  await refusedLikeMissing(w.x, s.ok.file_id, 'external member of another conversation');
});

test('held and blocked files: their sender only (and officers for what an alert names); nothing else by any path', async () => {
  for (const f of [s.held, s.blocked]) {
    assert.equal((await get(w.a, `/files/${f.file_id}`)).status, 200, 'the sender has it');
    for (const [who, what] of [[w.b, 'member'], [w.c, 'non-member'], [w.r, 'removed member'], [w.x, 'outsider']])
      await refusedLikeMissing(who, f.file_id, `${f.filename}: ${what}`);
    for (const who of [w.b, w.c, w.x]) assert.equal((await who.get(`/uploads/${f.id}`)).status, 404);
  }
  // the blocked page is named by the officers' alert: they may open it
  assert.equal((await get(w.o, `/files/${s.blocked.file_id}`)).status, 200);
  // history and events of the others: not its id, name or size
  const h = await history(w.b, s.conv.id);
  const ev = JSON.stringify(s.wsB.events) + JSON.stringify(s.wsX.events);
  for (const f of [s.held, s.blocked]) {
    for (const t of [h.text, ev]) {
      assert.ok(!t.includes(f.file_id) && !t.includes(f.id), `${f.filename}: no id`);
      assert.ok(!t.includes(f.filename), `${f.filename}: no name`);
    }
    assert.ok(!h.body.messages.some((m) => (m.attachments || []).some((x) => x.size === f.length)), 'no size');
  }
});

test('a recalled file: gone for everyone, its sender included, by every path', async () => {
  for (const [who, what] of [[w.a, 'sender'], [w.b, 'member'], [w.c, 'non-member'], [w.r, 'removed member']])
    await refusedLikeMissing(who, s.gone.file_id, `recalled: ${what}`);
});

test('an unfinished upload: its uploader only, by every tus path; others get what a missing upload gets', async () => {
  const paths = [['HEAD'], ['GET'], ['PATCH', Buffer.alloc(10, 66)], ['DELETE']];
  const ask = (who, id, [m, body]) => who.req(m, `/uploads/${id}`, undefined, {
    ...(body ? { raw: body } : {}),
    headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '100' },
  });
  for (const who of [w.b, w.c, w.r, w.x, w.o]) {
    for (const p of paths) {
      const want = await ask(who, NOBODY, p);
      const got = await ask(who, s.up, p);
      assert.equal(got.status, 404, `${p[0]} by ${who.login}`);
      assert.equal(got.text, want.text, `${p[0]} by ${who.login}: the same body as a missing upload`);
    }
  }
  const h = await w.a.req('HEAD', `/uploads/${s.up}`, undefined, { headers: TUS });
  assert.equal(h.headers.get('upload-offset'), '100', 'nothing the others sent was written');
});

test('creation: only a member of the conversation; an external member in their own conversation', async () => {
  const create = (who, convId, name) => who.req('POST', '/uploads', undefined, {
    headers: { ...TUS, 'Upload-Length': '12', 'Upload-Metadata': `filename ${b64(name)},conversation_id ${b64(convId)}` },
  });
  const none = await create(w.c, 999999, 'n.txt');
  for (const [who, what] of [[w.c, 'non-member'], [w.r, 'removed member'], [w.x, 'outsider']]) {
    const r = await create(who, s.conv.id, 'n.txt');
    assert.equal(r.status, 404, `${what}: ${r.text}`);
    assert.equal(r.body.error.code, none.body.error.code, `${what}: the answer of a missing conversation`);
  }
  // the outsider in their own conversation: uploaded, inspected for it, delivered to its members only
  const up = await uploadFile(w.x, s.ext.id, Buffer.from('from outside\n'), 'outside.txt');
  assert.equal(up.state, 'ready', JSON.stringify(up));
  assert.equal((await sendFiles(w.x, s.ext.id, [up.file_id], 'here')).status, 201);
  assert.equal((await get(w.a, `/files/${up.file_id}`)).status, 200);
  await refusedLikeMissing(w.b, up.file_id, 'not in the external conversation');
  // and cannot cite it in a conversation they are not in
  assert.equal((await sendFiles(w.x, s.conv.id, [up.file_id], 'x')).status, 404);
});

// A group that shares its history with newcomers: an outsider who joins
// reads the older messages (their text judged again for outsiders,
// history_scope.test.js) but not the files sent while the group was
// internal — those were judged for insiders only and the outsider cannot
// download them; before, history and the conversation's last message still
// showed their names, sizes and types.
test('an outsider joining a group with shared history gets nothing of the files sent while it was internal', async () => {
  const conv = await w.a.ok('POST', '/conversations', { kind: 'group', title: 'authz shared', member_ids: [w.b.user.id], shared_history: true }, [200, 201]);
  const up = await uploadFile(w.a, conv.id, Buffer.from('内部资料\n工作安排如下。\n'), '内部-安排.txt');
  assert.equal(up.verdict, 'warn', JSON.stringify(up));
  const only = await sendFiles(w.a, conv.id, [up.file_id], undefined);
  assert.equal(only.status, 201, only.text);
  const both = await sendFiles(w.a, conv.id, [up.file_id], 'see the plan');
  assert.equal(both.status, 201, both.text);
  await w.a.ok('POST', `/conversations/${conv.id}/members`, { user_id: w.x.user.id }, [200, 201, 204]);

  const h = await history(w.x, conv.id);
  assert.equal(h.status, 200, h.text);
  assert.ok(!h.text.includes(up.file_id) && !h.text.includes('内部-安排'), `nothing of the file: ${h.text}`);
  const mb = h.body.messages.find((m) => m.id === both.body.message.id);
  assert.equal(mb.text, 'see the plan', 'the text, judged for outsiders, is shown');
  assert.deepEqual(mb.attachments, []);
  const mo = h.body.messages.find((m) => m.id === only.body.message.id);
  assert.ok(mo && mo.withheld === true && mo.attachments.length === 0, `a files-only message is withheld: ${JSON.stringify(mo)}`);
  const c = await w.x.get(`/conversations/${conv.id}`);
  assert.ok(!c.text.includes(up.file_id) && !c.text.includes('内部-安排'), `not in last_message: ${c.text}`);
  const list = await w.x.get('/conversations');
  assert.ok(!list.text.includes(up.file_id) && !list.text.includes('内部-安排'), 'not in the conversation list');
  await refusedLikeMissing(w.x, up.file_id, 'outsider, shared history');
  // nor forwards them: the text goes on without the files; a files-only message does not exist for them
  const fw = await w.x.ok('POST', `/messages/${both.body.message.id}/forward`, { conversation_ids: [s.ext.id], client_id: 'az-fw1' }, 200);
  assert.equal(fw.results[0].status, 201, JSON.stringify(fw));
  assert.deepEqual(fw.results[0].message.attachments, [], JSON.stringify(fw));
  const fo = await w.x.req('POST', `/messages/${only.body.message.id}/forward`, { conversation_ids: [s.ext.id], client_id: 'az-fw2' });
  assert.equal(fo.status, 404, fo.text);
  // the insiders keep seeing it
  const hb = await history(w.b, conv.id);
  assert.equal(hb.body.messages.find((m) => m.id === both.body.message.id).attachments[0].id, up.file_id);
  // sent again now that an outsider is in: judged for outsiders, refused
  const again = await sendFiles(w.a, conv.id, [up.file_id], 'again');
  assert.equal(again.status, 403, again.text);
  assert.equal(again.body.error.code, 'attachment_blocked');
});

test('download headers: type detected, not declared; a safe name; inline only for images and PDFs', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'authz headers' });
  // declared text/html and named .txt: served as what it is, never as HTML
  const html = '<html><body><script>alert(1)</script>hello</body></html>\n';
  const c = await w.a.req('POST', '/uploads', undefined, {
    headers: { ...TUS, 'Upload-Length': String(html.length),
      'Upload-Metadata': `filename ${b64('a"b\\c\r\nd/e.html')},conversation_id ${b64(conv.id)},filetype ${b64('image/png')}` },
  });
  assert.equal(c.status, 201, c.text);
  const id = c.headers.get('location').split('/').pop();
  assert.equal((await w.a.req('PATCH', `/uploads/${id}`, undefined,
    { raw: Buffer.from(html), headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' } })).status, 204);
  let st;
  for (let i = 0; i < 600; i++) {
    st = (await w.a.get(`/uploads/${id}`)).body;
    if (st.state !== 'uploading' && st.state !== 'inspecting') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(st.file_id, JSON.stringify(st));
  assert.equal((await sendFiles(w.a, conv.id, [st.file_id], 'page')).status, 201);
  const d = await get(w.b, `/files/${st.file_id}?inline=1`);
  assert.equal(d.status, 200);
  assert.equal(d.headers.get('content-type').split(';')[0], 'text/html', 'detected, not the declared image/png');
  const cd = d.headers.get('content-disposition');
  assert.match(cd, /^attachment;/, `HTML is never inline: ${cd}`);
  assert.ok(!/[\r\n]/.test(cd), 'no line break in the header');
  // the plain name has no quote, backslash or slash; the RFC 5987 one keeps the rest, encoded
  assert.equal(/filename="([^"]*)"/.exec(cd)[1], 'a_b_c__d_e.html', cd);
  assert.match(cd, /filename\*=UTF-8''a%22b_c__d_e\.html$/, cd);
  assert.equal(d.headers.get('x-content-type-options'), 'nosniff');
  // the file's own policy (the app-wide one is sent too; a browser enforces both)
  assert.match(d.headers.get('content-security-policy'), /(^|, )sandbox; default-src 'none'/);
  // an image asked inline is inline, under the same CSP
  const i = await get(w.b, `/files/${s.ok.file_id}?inline=1`);
  assert.equal(i.status, 200);
  assert.equal(i.headers.get('content-type'), 'image/jpeg');
  assert.match(i.headers.get('content-disposition'), /^inline; filename="ok\.jpg"/);
  assert.match(i.headers.get('content-security-policy'), /(^|, )sandbox; default-src 'none'/);
  assert.equal(i.headers.get('x-content-type-options'), 'nosniff');
  // without ?inline=1, an attachment
  assert.match((await get(w.b, `/files/${s.ok.file_id}`)).headers.get('content-disposition'), /^attachment;/);
  // Range: a suffix range, and one past the end
  const whole = await get(w.b, `/files/${s.ok.file_id}`);
  const tail = await fetch(`${w.b.base}/api/v1/files/${s.ok.file_id}`, { headers: { Authorization: `Bearer ${w.b.token}`, Range: 'bytes=-100' } });
  assert.equal(tail.status, 206);
  assert.equal(tail.headers.get('content-range'), `bytes ${whole.bytes.length - 100}-${whole.bytes.length - 1}/${whole.bytes.length}`);
  assert.ok(Buffer.from(await tail.arrayBuffer()).equals(whole.bytes.subarray(whole.bytes.length - 100)));
  const past = await fetch(`${w.b.base}/api/v1/files/${s.ok.file_id}`, { headers: { Authorization: `Bearer ${w.b.token}`, Range: `bytes=${whole.bytes.length}-` } });
  assert.equal(past.status, 416);
  assert.equal(past.headers.get('content-range'), `bytes */${whole.bytes.length}`);
});

test('teardown', async () => {
  s.wsB.close();
  s.wsX.close();
});
