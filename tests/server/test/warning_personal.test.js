'use strict';
// Early warning: bulk personal data leaving through many small messages
// (docs/POLICY.md, "Early warning", `bulk_personal_findings`): each message
// carries one or two phone numbers — each is only a warning on its own —
// but one user's personal-data findings summed over the window pass the
// threshold, and officers get one `warning.bulk_personal` alert naming the
// evidence messages (never their text). And a file spreading fast: the
// same bytes uploaded again separately into more conversations than the
// policy allows raise `warning.spread` about the first message that
// carried them (files are traced by content, not only by forward).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world } = require('../lib/fixture.js');
const { Ws, send, conversation, assertNone, auditEntries } = require('../lib/client.js');
const { uploadFile } = require('../lib/uploads.js');

const w = world({ off: { role: 'officer' }, a: {}, b: {}, c: {} });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const phone = (i) => `1380013${String(8000 + i).padStart(4, '0')}`;

test('the threshold and window are set in the policy; bad values are refused', async () => {
  const p = await w.admin.ok('GET', '/admin/policy');
  const bad = await w.admin.req('PUT', '/admin/policy', { text: `${p.text}\nwarnings:\n  bulk_personal_minutes: 99999\n` });
  assert.ok(bad.status >= 400 && bad.status < 500, bad.text);
  assert.match(bad.text, /bulk_personal_minutes/);
  const r = await w.admin.req('PUT', '/admin/policy', {
    text: `${p.text}\nwarnings:\n  bulk_personal_findings: 5\n  bulk_personal_minutes: 10\n  attempts_per_day: 0\n  spread_conversations: 3\n  spread_minutes: 10\n`,
  });
  assert.equal(r.status, 200, r.text);
});

test('personal data in many small messages raises warning.bulk_personal once, with the evidence', async () => {
  const ws = await Ws.open(w.off);
  try {
    const g1 = await conversation(w.a, [w.b], { title: '客户对接' });
    const g2 = await conversation(w.a, [w.c], { title: '销售二组' });
    const sent = [];
    let n = 0;
    // 3 messages, 5 numbers: at the threshold, not over it
    for (const [conv, k] of [[g1, 2], [g2, 1], [g1, 2]]) {
      const nums = Array.from({ length: k }, () => phone(n++)).join('，');
      const r = await send(w.a, conv.id, `客户电话 ${nums}`);
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body.guard.verdict, 'warn', 'each message alone only warns');
      sent.push(r.body.message);
    }
    await assertNone(ws, (e) => e.type === 'alert.new' && e.alert.category === 'warning.bulk_personal', 500, 'not at 5');
    // someone else's personal data does not add to a's
    assert.equal((await send(w.b, g1.id, `我的电话 ${phone(90)} ${phone(91)}`)).status, 201);
    await assertNone(ws, (e) => e.type === 'alert.new' && e.alert.category === 'warning.bulk_personal', 300, 'b is not a');
    // the 6th number
    const last = await send(w.a, g2.id, `还有一个 ${phone(n++)}`);
    sent.push(last.body.message);
    const ev = await ws.waitType('alert.new', (e) => e.alert.category === 'warning.bulk_personal');
    const a = ev.alert;
    assert.equal(a.user_id, w.a.user.id);
    assert.equal(a.verdict, 'warn');
    assert.equal(a.message_id, last.body.message.id, 'about the latest message');
    const f = a.findings[0];
    assert.equal(f.rule, 'warning.bulk_personal');
    assert.equal(f.personal_findings, 6);
    assert.equal(f.messages, 4);
    assert.equal(f.conversations, 2);
    assert.equal(f.threshold, 5);
    assert.equal(f.window_minutes, 10);
    assert.deepEqual(f.evidence_message_ids, sent.map((m) => m.id));
    assert.ok(!JSON.stringify(a).includes(phone(0)), 'the evidence names messages, not their content');
    // more in the same window: no second alert
    await send(w.a, g1.id, `再发 ${phone(n++)} ${phone(n++)}`);
    await sleep(500);
    assert.equal(ws.events.filter((e) => e.type === 'alert.new' && e.alert.category === 'warning.bulk_personal').length, 1, 'once per window');
    const list = await w.off.ok('GET', '/alerts?category=warning.bulk_personal');
    assert.equal(list.alerts.length, 1);
    const audit = await auditEntries(w.admin);
    assert.ok(audit.some((e) => e.event === 'warning.bulk_personal' && e.detail.user_id === w.a.user.id));
  } finally { await ws.close(); }
});

test('0 turns the rule off', async () => {
  const p = await w.admin.ok('GET', '/admin/policy');
  const text = p.text.replace(/bulk_personal_findings: 5/, 'bulk_personal_findings: 0');
  assert.equal((await w.admin.req('PUT', '/admin/policy', { text })).status, 200);
  const ws = await Ws.open(w.off);
  try {
    const g = await conversation(w.c, [w.b], { title: 'off' });
    for (let i = 0; i < 4; i++) await send(w.c, g.id, `号码 ${phone(200 + 2 * i)} ${phone(201 + 2 * i)}`);
    await assertNone(ws, (e) => e.type === 'alert.new' && e.alert.category === 'warning.bulk_personal', 500, 'off');
  } finally { await ws.close(); }
});

test('a file uploaded again separately into more than N conversations raises warning.spread once', async () => {
  const ws = await Ws.open(w.off);
  try {
    const bytes = Buffer.from('季度销售数据汇总（内部）\n'.repeat(40));
    const sent = [];
    let k = 0;
    for (const [who, other] of [[w.a, w.b], [w.b, w.c], [w.c, w.a], [w.a, w.c], [w.b, w.a]]) {
      const g = await conversation(who, [other], { title: `文件群 ${k}` });
      const up = await uploadFile(who, g.id, bytes, `汇总${k++}.txt`);
      assert.equal(up.state, 'ready', JSON.stringify(up));
      const r = await who.req('POST', `/conversations/${g.id}/messages`, { client_id: `fs-${k}`, attachments: [up.file_id] });
      assert.equal(r.status, 201, r.text);
      sent.push({ msg: r.body.message, file: up.file_id, who });
      if (k === 3) await assertNone(ws, (e) => e.type === 'alert.new' && e.alert.category === 'warning.spread', 500, 'not at 3 conversations');
    }
    const ev = await ws.waitType('alert.new', (e) => e.alert.category === 'warning.spread');
    const a = ev.alert;
    assert.equal(a.message_id, sent[0].msg.id, 'about the first message that carried the bytes');
    assert.equal(a.user_id, w.a.user.id, 'its author');
    const f = a.findings[0];
    assert.equal(f.conversations, 4);
    assert.equal(f.threshold, 3);
    assert.equal(f.file_id, sent[3].file, 'the file that crossed it');
    await sleep(500);
    assert.equal(ws.events.filter((e) => e.type === 'alert.new' && e.alert.category === 'warning.spread').length, 1, 'once per window (the 5th did not raise another)');
  } finally { await ws.close(); }
});
