'use strict';
// The compliance export (docs/API.md, "Compliance export"): officers and
// admins only, a stated reason, every message of the period and nothing
// outside it, recalled ones without their text, the audit entries that
// cover the target appended, EML that a real mail parser reads back
// (Python's email package), a 20,000-message conversation exported page
// by page with the server's memory bounded, and an officer.export audit
// row for every page (never the text).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { world, auditVerify } = require('../lib/fixture.js');
const { send, conversation, assertError, auditEntries } = require('../lib/client.js');
const { procMem, sleep } = require('../lib/server.js');

const w = world({
  off: { role: 'officer', display_name: '保密员 王' },
  a: { display_name: '张三' },
  b: { display_name: '李四' },
  staff: {},
});

const CONFIRM_TEXT = '核心商密\n新产品定价策略（草案）';
const WHY = '客户已签保密协议，经理批准发送';
const s = {};

// the server's own store: sqlite3 on its file, or psql under run-pg.sh
function sql(query) {
  return w.srv.sql(query);
}

// GET the export with the officer's token; raw body.
async function exportRaw(api, q) {
  const res = await fetch(`${w.srv.base}/api/v1/officer/export?${new URLSearchParams(q)}`, {
    headers: { Authorization: `Bearer ${api.token}` },
  });
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, buf, text: buf.toString('utf8') };
}

function lines(text) {
  return text.split('\n').filter((l) => l).map((l) => JSON.parse(l));
}

// Every page of an export, following the cursor.
async function exportAll(api, q, onPage) {
  const pages = [];
  let cursor = '';
  for (let i = 0; i < 1000; i++) {
    const r = await exportRaw(api, cursor ? { ...q, cursor } : q);
    assert.equal(r.status, 200, r.text.slice(0, 300));
    pages.push(r);
    if (onPage) await onPage(r);
    cursor = r.headers.get('x-cordon-next-cursor');
    if (!cursor) break;
  }
  return pages;
}

test('setup: a conversation with messages before, inside and after the period', async () => {
  s.conv = await conversation(w.a, [w.b], { title: '项目组 定价' });
  s.other = await conversation(w.a, [w.b], { title: 'other group' });
  const before = await send(w.a, s.conv.id, 'before the period');
  assert.equal(before.status, 201, before.text);
  await sleep(30);
  s.from = Date.now();
  s.inside = [];
  for (const [who, text] of [[w.a, '第一条：会议改到周三'], [w.b, 'second: ok'], [w.a, 'third: to be recalled']]) {
    const r = await send(who, s.conv.id, text);
    assert.equal(r.status, 201, r.text);
    s.inside.push(r.body.message);
  }
  const c = await send(w.a, s.conv.id, CONFIRM_TEXT, { justification: WHY });
  assert.equal(c.status, 201, c.text);
  s.inside.push(c.body.message);
  await w.a.ok('POST', `/messages/${s.inside[2].id}/recall`, {});
  // a forward from the other group into this one: provenance in the export
  const o = await send(w.b, s.other.id, 'a note to pass on');
  assert.equal(o.status, 201, o.text);
  const f = await w.b.ok('POST', `/messages/${o.body.message.id}/forward`, { conversation_ids: [s.conv.id] }, 200);
  assert.equal(f.results[0].status, 201, JSON.stringify(f.results[0]));
  s.forward = f.results[0].message;
  s.forwardedFrom = o.body.message;
  s.inside.push(s.forward);
  await sleep(30);
  s.to = Date.now();
  await sleep(30);
  const after = await send(w.a, s.conv.id, 'after the period');
  assert.equal(after.status, 201, after.text);
});

test('staff may not export (403); a reason, one target and a period are required (400)', async () => {
  const q = { conversation_id: s.conv.id, from: s.from, to: s.to, format: 'jsonl', reason: '审计' };
  for (const who of [w.staff, w.a]) {
    const r = await who.get(`/officer/export?${new URLSearchParams(q)}`);
    assertError(r, 403, 'forbidden');
  }
  const { reason, ...noReason } = q;
  assert.ok(reason);
  assertError(await w.off.get(`/officer/export?${new URLSearchParams(noReason)}`), 400, 'reason_required');
  assertError(await w.off.get(`/officer/export?${new URLSearchParams({ ...q, reason: '' })}`), 400, 'reason_required');
  const long = await w.off.get(`/officer/export?${new URLSearchParams({ ...q, reason: 'x'.repeat(1001) })}`);
  assertError(long, 400, 'reason_too_long');
  assert.equal(long.body.error.max, 1000);
  // a long Chinese reason (600 bytes, 1,800 characters URL-encoded) arrives whole
  const why = '依据保密检查通知开展专项核查'.repeat(14) + '。';
  const ok = await exportRaw(w.off, { ...q, reason: why });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(lines(ok.text)[0].reason, why);
  assertError(await w.off.get(`/officer/export?${new URLSearchParams({ ...q, user_id: w.a.user.id })}`), 400, 'bad_target');
  assertError(await w.off.get(`/officer/export?${new URLSearchParams({ ...q, to: s.from })}`), 400, 'bad_period');
  assertError(await w.off.get(`/officer/export?${new URLSearchParams({ ...q, format: 'pdf' })}`), 400, 'bad_format');
  assertError(await w.off.get(`/officer/export?${new URLSearchParams({ ...q, cursor: 'zz' })}`), 400, 'bad_cursor');
  assertError(await w.off.get(`/officer/export?${new URLSearchParams({ ...q, conversation_id: 999999 })}`), 404, 'not_found');
});

test('JSONL: every message of the period and nothing outside it, recalled without text, audit lines appended', async () => {
  const r = await exportRaw(w.off, { conversation_id: s.conv.id, from: s.from, to: s.to, format: 'jsonl', reason: '合规检查 2026-12' });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /application\/x-ndjson/);
  assert.match(r.headers.get('content-disposition'), /attachment; filename="cordon-export-conversation-\d+\.jsonl"/);
  assert.equal(r.headers.get('x-cordon-next-cursor'), null, 'one page');
  const l = lines(r.text);
  assert.equal(l[0].type, 'export');
  assert.equal(l[0].conversation_id, s.conv.id);
  assert.equal(l[0].reason, '合规检查 2026-12');
  assert.equal(l[0].conversation_title, '项目组 定价');
  const msgs = l.filter((x) => x.type === 'message');
  assert.deepEqual(msgs.map((m) => m.id), s.inside.map((m) => m.id), 'exactly the messages of the period, in order');
  assert.ok(!r.text.includes('before the period') && !r.text.includes('after the period'), 'nothing outside the period');
  const byId = Object.fromEntries(msgs.map((m) => [m.id, m]));
  assert.equal(byId[s.inside[0].id].text, '第一条：会议改到周三');
  assert.equal(byId[s.inside[0].id].sender, '张三 (' + w.a.login + ')');
  assert.equal(byId[s.inside[0].id].verdict, 'allow');
  const rec = byId[s.inside[2].id];
  assert.equal(rec.state, 'recalled');
  assert.equal(rec.recalled, true);
  assert.equal(rec.text, null);
  assert.ok(!r.text.includes('to be recalled'), 'the recalled text is nowhere');
  const conf = byId[s.inside[3].id];
  assert.equal(conf.verdict, 'confirm');
  assert.equal(conf.justification, WHY);
  const fw = byId[s.forward.id];
  assert.equal(fw.forward.from_message_id, s.forwardedFrom.id);
  assert.equal(fw.forward.original_sender_id, w.b.user.id);
  const audit = l.filter((x) => x.type === 'audit');
  assert.ok(audit.length > 0, 'audit lines');
  const recallRow = audit.find((x) => x.event === 'message.recall' || x.target === `message:${s.inside[2].id}`);
  assert.ok(recallRow, `the recall's audit entry: ${JSON.stringify(audit.map((x) => [x.event, x.target]))}`);
  for (const x of audit) {
    assert.ok(x.time >= s.from && x.time < s.to, 'audit entries of the period');
    assert.ok(x.target === `conversation:${s.conv.id}` || /^message:\d+$/.test(x.target), x.target);
  }
  const last = l[l.length - 1];
  assert.deepEqual(last, { type: 'page', messages: msgs.length, audit_entries: audit.length, next_cursor: null });
});

test('a user\'s messages over a period, across conversations', async () => {
  const r = await exportRaw(w.off, { user_id: w.b.user.id, from: s.from, to: s.to, format: 'jsonl', reason: 'HR 调查' });
  assert.equal(r.status, 200, r.text);
  const msgs = lines(r.text).filter((x) => x.type === 'message');
  assert.deepEqual(msgs.map((m) => m.id), [s.inside[1].id, s.forwardedFrom.id, s.forward.id]);
  assert.ok(msgs.every((m) => m.sender_id === w.b.user.id));
  assert.deepEqual(new Set(msgs.map((m) => m.conversation_id)), new Set([s.conv.id, s.other.id]));
});

test('EML: an mbox a mail parser reads back — encoded-words, UTF-8 bodies, stable Message-ID, In-Reply-To', async () => {
  const q = { conversation_id: s.conv.id, from: s.from, to: s.to, format: 'eml', reason: '合规检查' };
  const r = await exportRaw(w.admin, q);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('content-type'), 'application/mbox');
  // headers are 7-bit: Chinese only as encoded-words
  for (const line of r.text.split('\n')) {
    if (/^(From|To|Subject|X-Cordon-Justification):/.test(line)) assert.ok(/^[\x20-\x7e]*$/.test(line), line);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-export-'));
  const file = path.join(dir, 'export.mbox');
  fs.writeFileSync(file, r.buf);
  const py = `
import mailbox, email.policy, json, sys
out = []
for m in mailbox.mbox(sys.argv[1], factory=lambda f: __import__('email').message_from_binary_file(f, policy=email.policy.default)):
    body = m.get_body(('plain',))
    out.append({k: str(m[k]) if m[k] is not None else None for k in ['From', 'To', 'Subject', 'Date', 'Message-ID', 'In-Reply-To', 'X-Cordon-State', 'X-Cordon-Verdict', 'X-Cordon-Justification', 'X-Cordon-Message-Id']} | {'body': body.get_content() if body else None, 'cte': str(body['Content-Transfer-Encoding']) if body else None, 'charset': body.get_content_charset() if body else None})
print(json.dumps(out, ensure_ascii=False))
`;
  const p = spawnSync('python3', ['-c', py, file], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(p.status, 0, p.stderr);
  const mails = JSON.parse(p.stdout);
  assert.equal(mails[0].Subject, 'Cordon export', 'a cover first');
  assert.equal(JSON.parse(mails[0].body).reason, '合规检查');
  const msgs = mails.filter((m) => m['X-Cordon-Message-Id']);
  assert.deepEqual(msgs.map((m) => Number(m['X-Cordon-Message-Id'])), s.inside.map((m) => m.id));
  const first = msgs[0];
  assert.equal(first.Subject, '项目组 定价');
  assert.equal(first.From, `"张三 (${w.a.login})" <user-${w.a.user.id}@cordon.invalid>`);
  assert.equal(first.body.trim(), '第一条：会议改到周三');
  assert.equal(first.charset, 'utf-8');
  assert.equal(first.cte, 'base64');
  assert.equal(first['Message-ID'], `<cordon-message-${s.inside[0].id}@cordon.invalid>`);
  assert.equal(new Date(first.Date).getTime() / 1000 | 0, (s.inside[0].created_at / 1000) | 0);
  const rec = msgs[2];
  assert.equal(rec['X-Cordon-State'], 'recalled');
  assert.equal(rec.body.trim(), '[recalled]');
  assert.ok(!r.text.includes('to be recalled'));
  assert.equal(msgs[3]['X-Cordon-Verdict'], 'confirm');
  assert.equal(msgs[3]['X-Cordon-Justification'], WHY);
  assert.equal(msgs[3].body.trim(), CONFIRM_TEXT);
  assert.equal(msgs[4]['In-Reply-To'], `<cordon-message-${s.forwardedFrom.id}@cordon.invalid>`);
  const audit = mails[mails.length - 1];
  assert.equal(audit.Subject, 'Cordon export: audit entries');
  const auditLines = audit.body.split('\n').filter((x) => x).map((x) => JSON.parse(x));
  assert.ok(auditLines.length > 0 && auditLines.every((x) => x.type === 'audit'));
  // the same export twice: the same Message-IDs
  const again = await exportRaw(w.admin, q);
  const ids = (t) => t.split('\n').filter((x) => /^Message-Id: <cordon-message-/i.test(x));
  assert.deepEqual(ids(again.text), ids(r.text));
});

test('every export is an audit row officer.export with target, period and counts, never the text', async () => {
  const entries = (await auditEntries(w.admin)).filter((e) => e.event === 'officer.export');
  const mine = entries.find((e) => e.target === `conversation:${s.conv.id}` && e.detail.reason === '合规检查 2026-12');
  assert.ok(mine, JSON.stringify(entries));
  assert.equal(mine.actor_id, w.off.user.id);
  assert.equal(mine.detail.from, s.from);
  assert.equal(mine.detail.to, s.to);
  assert.equal(mine.detail.format, 'jsonl');
  assert.equal(mine.detail.messages, s.inside.length);
  assert.equal(mine.detail.recalled, 1);
  assert.ok(mine.detail.audit_entries > 0);
  assert.ok(entries.some((e) => e.target === `user:${w.b.user.id}` && e.detail.reason === 'HR 调查'));
  assert.ok(!JSON.stringify(entries).includes('会议改到周三'), 'no text in the audit');
  // refused attempts export nothing and write no row
  assert.ok(!entries.some((e) => e.actor_id === w.staff.user.id));
  auditVerify(w.srv);
});

test('20,000 messages: paged with a cursor, every message once, server memory bounded', async () => {
  const N = 20000;
  const big = await conversation(w.a, [w.b], { title: 'big' });
  const t0 = Date.now() - 60000;
  const filler = 'x'.repeat(2000);
  // Seeded straight into the database (the send path is tested elsewhere;
  // 20,000 sends would only test the guard's speed): 2 KB each, 40 MB.
  sql(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${N}) ` +
    `INSERT INTO messages(conv_id, sender_id, client_id, created_at, body, verdict) ` +
    `SELECT ${big.id}, ${w.a.user.id}, 'seed-' || i, ${t0} + i, 'seed ' || i || ' ${filler}', 'allow' FROM n`);
  const base = procMem(w.srv.pid);
  let maxRss = base.rssKb;
  let seen = 0;
  let expect = 1;
  const pages = await exportAll(w.off, { conversation_id: big.id, from: t0, to: Date.now() + 1000, format: 'jsonl', reason: 'load' }, async (r) => {
    maxRss = Math.max(maxRss, procMem(w.srv.pid).rssKb);
    assert.ok(r.buf.length < 6 << 20, `a page is bounded: ${r.buf.length}`);
    for (const x of lines(r.text)) {
      if (x.type !== 'message') continue;
      assert.equal(x.text.split(' ')[1], String(expect), 'in order, none lost, none twice');
      expect++;
      seen++;
    }
  });
  assert.equal(seen, N);
  assert.ok(pages.length >= 8, `paged: ${pages.length}`);
  const grew = (maxRss - base.rssKb) / 1024;
  process.stdout.write(`# export of ${N} messages (${(N * 2 / 1024).toFixed(0)} MB): ${pages.length} pages, server RSS ${(base.rssKb / 1024).toFixed(1)} -> max ${(maxRss / 1024).toFixed(1)} MB\n`);
  assert.ok(grew < 64, `server RSS grew ${grew.toFixed(1)} MB exporting ~40 MB`);
  const rows = (await auditEntries(w.admin)).filter((e) => e.event === 'officer.export' && e.target === `conversation:${big.id}`);
  assert.equal(rows.length, pages.length, 'one audit row per page');
  assert.equal(rows.reduce((a, e) => a + e.detail.messages, 0), N);
  // the same as an mbox: pages bounded, every message once
  let mails = 0;
  let emlMax = 0;
  const emlPages = await exportAll(w.off, { conversation_id: big.id, from: t0, to: Date.now() + 1000, format: 'eml', reason: 'load' }, async (r) => {
    emlMax = Math.max(emlMax, procMem(w.srv.pid).rssKb);
    assert.ok(r.buf.length < 6 << 20, `an mbox page is bounded: ${r.buf.length}`);
    mails += (r.text.match(/^X-Cordon-Message-Id: /gm) || []).length;
  });
  assert.equal(mails, N);
  process.stdout.write(`# as mbox: ${emlPages.length} pages, server RSS max ${(emlMax / 1024).toFixed(1)} MB\n`);
  assert.ok((emlMax - base.rssKb) / 1024 < 64, 'mbox export bounded too');
});

test('cordon export: the operator on the machine writes the same export into a new 0600 file, audited', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-export-cli-'));
  try {
    const out = path.join(dir, 'conv.jsonl');
    const args = ['export', '--data', w.srv.storeDir, '--conversation', String(s.conv.id), '--from', String(s.from), '--to', String(s.to)];
    const noReason = w.srv.cli([...args, out]);
    assert.equal(noReason.status, 2, noReason.stderr);
    assert.match(noReason.stderr, /--reason is required/);
    assert.ok(!fs.existsSync(out), 'nothing written without a reason');
    const r = w.srv.cli([...args, '--reason', '法务保全', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.statSync(out).mode & 0o777, 0o600);
    const l = lines(fs.readFileSync(out, 'utf8'));
    assert.deepEqual(l.filter((x) => x.type === 'message').map((m) => m.id), s.inside.map((m) => m.id));
    assert.ok(l.some((x) => x.type === 'audit'));
    assert.equal(l[0].by, 'cli');
    const again = w.srv.cli([...args, '--reason', '法务保全', out]);
    assert.equal(again.status, 2, 'an existing file is never overwritten');
    const eml = path.join(dir, 'user.mbox');
    const u = w.srv.cli(['export', '--data', w.srv.storeDir, '--user', w.b.login, '--from', String(s.from), '--to', String(s.to), '--format', 'eml', '--reason', 'HR', eml]);
    assert.equal(u.status, 0, u.stderr);
    assert.equal((fs.readFileSync(eml, 'utf8').match(/^X-Cordon-Message-Id:/gm) || []).length, 3);
    const rows = (await auditEntries(w.admin)).filter((e) => e.event === 'officer.export' && e.actor === 'cli');
    assert.equal(rows.length, 2);
    assert.equal(rows[0].target, `conversation:${s.conv.id}`);
    assert.equal(rows[0].detail.reason, '法务保全');
    assert.equal(rows[0].detail.messages, s.inside.length);
    assert.equal(rows[1].target, `user:${w.b.user.id}`);
    auditVerify(w.srv);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
