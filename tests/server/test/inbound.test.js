'use strict';
// What external people send in (issue 18, "Inbound"; docs/POLICY.md, "The
// inbound scope in chat"): a message from an external sender to a
// conversation with internal members is inspected again with the guard's
// inbound scope, for the recipients. An opaque link (IP host, shortener)
// is delivered with an `inbound_warning` that internal members see in the
// event, the history and the conversation list, whatever justification the
// sender gave; the sender and other external members never see it. A
// look-alike of a government domain is quarantined: nothing is delivered.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world } = require('../lib/fixture.js');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { Ws, send, history, assertNone } = require('../lib/client.js');
const { uploadFile } = require('../lib/uploads.js');

const IP_LINK = 'http://203.0.113.7/login.php';
const SHORT_LINK = 'https://t.cn/A6xYzQ';
const LOOKALIKE = 'https://www.gov.cn.verify-login.top/notice';

const w = world({
  a: {}, b: {}, o: { role: 'officer' },
  x: { external: true }, y: { external: true },
});

async function group(title, members) {
  return w.a.ok('POST', '/conversations', { kind: 'group', title, member_ids: members.map((m) => m.user.id) }, 201);
}

function warningRules(m) {
  return (m.inbound_warning?.findings || []).map((f) => f.rule).sort();
}

test('an IP-literal link from an external sender, justified by them, reaches internal members with a warning', async () => {
  const conv = await group('inbound ip', [w.b, w.x, w.y]);
  const wb = await Ws.open(w.b);
  const wy = await Ws.open(w.y);
  const wx = await Ws.open(w.x);
  try {
    const text = `官方通知：请尽快登录 ${IP_LINK} 核对信息`;
    // Without a justification the sender is asked for one, as before.
    const held = await send(w.x, conv.id, text);
    assert.equal(held.status, 409, held.text);
    const r = await send(w.x, conv.id, text, { justification: '官方通知' });
    assert.equal(r.status, 201, r.text);
    const id = r.body.message.id;
    assert.equal(r.body.message.inbound_warning, undefined, 'the external sender is not shown the warning');
    assert.ok(!r.text.includes('inbound_warning'));

    // an internal recipient: the event carries the warning
    const ev = await wb.waitType('message.new', (e) => e.message.id === id);
    assert.deepEqual(warningRules(ev.message), ['link.ip_host']);
    assert.equal(ev.message.inbound_warning.action, 'confirm');
    const f = ev.message.inbound_warning.findings[0];
    assert.equal(f.excerpt, IP_LINK);
    assert.equal(f.category, 'link');
    assert.equal(f.policy_rule, 'inbound-link-opaque');
    assert.equal(ev.message.text, text, 'delivered, not withheld');

    // external members (the sender's other sockets, another external one): no warning
    const ey = await wy.waitType('message.new', (e) => e.message.id === id);
    assert.equal(ey.message.inbound_warning, undefined);
    const ex = await wx.waitType('message.new', (e) => e.message.id === id);
    assert.equal(ex.message.inbound_warning, undefined);

    // history and the conversation list keep it, for internal members only
    const hb = await history(w.b, conv.id);
    assert.deepEqual(warningRules(hb.body.messages.find((m) => m.id === id)), ['link.ip_host']);
    const ha = await history(w.a, conv.id);
    assert.deepEqual(warningRules(ha.body.messages.find((m) => m.id === id)), ['link.ip_host']);
    const lb = await w.b.ok('GET', '/conversations');
    assert.deepEqual(warningRules(lb.conversations.find((c) => c.id === conv.id).last_message), ['link.ip_host']);
    for (const ext of [w.x, w.y]) {
      const h = await history(ext, conv.id);
      assert.equal(h.status, 200);
      assert.ok(!h.text.includes('inbound_warning'), 'no warning in an external member\'s history');
      const l = await ext.ok('GET', '/conversations');
      assert.ok(!JSON.stringify(l).includes('inbound_warning'));
    }
  } finally {
    await Promise.all([wb.close(), wy.close(), wx.close()]);
  }
});

test('a shortened link from an external sender in a direct chat is delivered with a warning', async () => {
  const conv = await w.x.ok('POST', '/conversations', { kind: 'direct', member_ids: [w.b.user.id] }, [200, 201]);
  const text = `文件在这里 ${SHORT_LINK}`;
  const r = await send(w.x, conv.id, text, { justification: '官方通知' });
  assert.equal(r.status, 201, r.text);
  const hb = await history(w.b, conv.id);
  const m = hb.body.messages.find((x) => x.id === r.body.message.id);
  assert.deepEqual(warningRules(m), ['link.shortener']);
  assert.equal(m.inbound_warning.findings[0].excerpt, SHORT_LINK);
  const hx = await history(w.x, conv.id);
  assert.ok(!hx.text.includes('inbound_warning'));
});

test('a look-alike of a government domain from an external sender is quarantined, justification or not', async () => {
  const conv = await group('inbound lookalike', [w.b, w.x]);
  const wb = await Ws.open(w.b);
  const wo = await Ws.open(w.o);
  try {
    const r = await send(w.x, conv.id, `请登录 ${LOOKALIKE} 完成认证`, { justification: '官方通知' });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.body.error.code, 'guard_blocked');
    assert.ok(r.body.guard.findings.some((f) => f.rule === 'link.lookalike'));
    const al = await wo.waitType('alert.new', (e) => e.alert.conversation_id === conv.id);
    assert.equal(al.alert.verdict, 'block');
    await assertNone(wb, (e) => e.type === 'message.new' && e.message.conversation_id === conv.id, 500, 'message.new');
    const hb = await history(w.b, conv.id);
    assert.deepEqual(hb.body.messages, [], 'nothing stored');
  } finally {
    await Promise.all([wb.close(), wo.close()]);
  }
});

test('an internal sender is unaffected: the same links carry no inbound warning', async () => {
  const conv = await group('internal sender', [w.b, w.x]);
  const r = await send(w.a, conv.id, `看这个 ${IP_LINK}`, { justification: '内部测试地址' });
  assert.equal(r.status, 201, r.text);
  const hb = await history(w.b, conv.id);
  assert.equal(hb.body.messages[0].inbound_warning, undefined);
  // and an external sender with nothing risky: no warning either
  const r2 = await send(w.x, conv.id, '好的，明天下午三点见 https://www.example.com/agenda');
  assert.equal(r2.status, 201, r2.text);
  const hb2 = await history(w.b, conv.id);
  assert.equal(hb2.body.messages.find((m) => m.id === r2.body.message.id).inbound_warning, undefined);
});

test('an external sender with only external recipients: no inbound inspection applies', async () => {
  const conv = await group('externals only', [w.x, w.y]);
  // a's own conversation, a leaves: only externals remain
  await w.a.ok('POST', `/conversations/${conv.id}/leave`, undefined, [200, 204]);
  const r = await send(w.x, conv.id, `see ${IP_LINK}`, { justification: 'ok' });
  assert.equal(r.status, 201, r.text);
  const hy = await history(w.y, conv.id);
  assert.ok(!hy.text.includes('inbound_warning'));
});

test('a recalled message keeps no warning', async () => {
  const conv = await group('inbound recall', [w.b, w.x]);
  const r = await send(w.x, conv.id, `登录 ${IP_LINK}`, { justification: '官方通知' });
  assert.equal(r.status, 201, r.text);
  await w.x.ok('POST', `/messages/${r.body.message.id}/recall`, undefined, 204);
  const hb = await history(w.b, conv.id);
  const m = hb.body.messages.find((x) => x.id === r.body.message.id);
  assert.equal(m.recalled, true);
  assert.equal(m.inbound_warning, undefined);
});

test('forwarded inside, a warned message keeps its warning', async () => {
  const conv = await group('inbound forward source', [w.b, w.x]);
  const r = await send(w.x, conv.id, `请登录 ${IP_LINK}`, { justification: '官方通知' });
  assert.equal(r.status, 201, r.text);
  const inside = await w.b.ok('POST', '/conversations', { kind: 'group', title: 'inside', member_ids: [w.a.user.id] }, 201);
  // the forwarder's own rules hold the opaque link too: forwarded with a justification
  const held = await w.b.ok('POST', `/messages/${r.body.message.id}/forward`, { conversation_ids: [inside.id] });
  assert.equal(held.results[0].status, 409, JSON.stringify(held));
  const f = await w.b.post(`/conversations/${inside.id}/messages`, { client_id: 'fwd-inbound', forward_of: r.body.message.id, justification: '提醒大家注意' });
  assert.equal(f.status, 201, f.text);
  const ha = await history(w.a, inside.id);
  assert.deepEqual(warningRules(ha.body.messages[0]), ['link.ip_host'], 'the warning travels with the text');
  assert.equal(ha.body.messages[0].forward.original_sender_id, w.x.user.id);
});

test('a QR code in a picture an external sender attaches warns the internal recipients', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-inbound-'));
  try {
    const png = path.join(dir, 'qr.png');
    const q = spawnSync('qrencode', ['-s', '6', '-o', png, 'https://example.org/pay']);
    assert.equal(q.status, 0, 'qrencode');
    const bytes = fs.readFileSync(png);
    const conv = await w.x.ok('POST', '/conversations', { kind: 'direct', member_ids: [w.a.user.id] }, [200, 201]);
    const up = await uploadFile(w.x, conv.id, bytes, '付款码.png');
    assert.ok(up.file_id, JSON.stringify(up));
    const r = await w.x.req('POST', `/conversations/${conv.id}/messages`, { client_id: 'qr-in', text: '请扫码', attachments: [up.file_id] });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.message.inbound_warning, undefined, 'the external sender is not shown the warning');
    const ha = await history(w.a, conv.id);
    const m = ha.body.messages.find((x) => x.id === r.body.message.id);
    assert.ok(warningRules(m).includes('image.qr_code'), JSON.stringify(m.inbound_warning));
    assert.equal(m.attachments.length, 1);
    const f = m.inbound_warning.findings.find((x) => x.rule === 'image.qr_code');
    assert.ok(f.location.startsWith('付款码.png'), f.location);
    // the same picture from an internal colleague: nothing to warn of
    const inner = await w.a.ok('POST', '/conversations', { kind: 'direct', member_ids: [w.b.user.id] }, [200, 201]);
    const up2 = await uploadFile(w.a, inner.id, bytes, '付款码.png');
    const r2 = await w.a.req('POST', `/conversations/${inner.id}/messages`, { client_id: 'qr-int', text: '扫码', attachments: [up2.file_id] });
    assert.equal(r2.status, 201, r2.text);
    const hb = await history(w.b, inner.id);
    assert.equal(hb.body.messages.find((x) => x.id === r2.body.message.id).inbound_warning, undefined);

    // a macro document from outside: the recipients are warned too
    const docm = spawnSync('/usr/bin/python3', ['-c',
      "import sys; sys.path.insert(0, sys.argv[1]); import fixtures; sys.stdout.buffer.write(fixtures.docm_macro())",
      path.join(__dirname, '..', '..', 'file', 'docs')]);
    assert.equal(docm.status, 0, String(docm.stderr));
    const up3 = await uploadFile(w.x, conv.id, docm.stdout, '发票.docm');
    assert.ok(up3.file_id, JSON.stringify(up3));
    const r3 = await w.x.req('POST', `/conversations/${conv.id}/messages`, { client_id: 'docm-in', text: '发票见附件', attachments: [up3.file_id], justification: '对账' });
    assert.equal(r3.status, 201, r3.text);
    const m3 = (await history(w.a, conv.id)).body.messages.find((x) => x.id === r3.body.message.id);
    assert.ok(warningRules(m3).includes('file.macro'), JSON.stringify(m3.inbound_warning));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
