'use strict';
// Officers trace and contain (docs/API.md, "Trace and contain"): a message
// forwarded hop by hop across 30 groups by 10 users is traced completely
// from any copy, quarantined and restored, then removed everywhere in one
// action; every member's socket drops each copy live, nothing remains in
// history or in the database, and each step is audited with its reason.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { world, auditVerify } = require('../lib/fixture.js');
const { Ws, send, conversation, history, assertError, auditEntries } = require('../lib/client.js');

const N_USERS = 10;
const N_GROUPS = 30;
const users = { off: { role: 'officer' }, staff: {} };
for (let i = 0; i < N_USERS; i++) users[`u${i}`] = {};
const w = world(users);
const u = (i) => w[`u${i % N_USERS}`];

const MARK = `leaked-photo-caption-${process.pid}`;
const chain = { groups: [], copies: [] }; // copies[k]: the message in groups[k]

function sql(query) {
  return w.srv.sql(query);
}

test('setup: a message forwarded across 30 groups by 10 users', async () => {
  // group k: u(k), u(k+1), u(k+2); the hop into group k is forwarded by
  // u(k), a member of group k-1 too
  for (let k = 0; k < N_GROUPS; k++) {
    chain.groups.push(await conversation(u(k), [u(k + 1), u(k + 2)], { title: `项目群 ${k}` }));
  }
  const r = await send(u(0), chain.groups[0].id, `${MARK}: the drawing of the new site`);
  assert.equal(r.status, 201, r.text);
  chain.copies.push(r.body.message);
  for (let k = 1; k < N_GROUPS; k++) {
    const f = await u(k).ok('POST', `/messages/${chain.copies[k - 1].id}/forward`, { conversation_ids: [chain.groups[k].id] }, 200);
    assert.equal(f.results[0].status, 201, JSON.stringify(f.results[0]));
    chain.copies.push(f.results[0].message);
  }
  // some recipients open it: u(k+2) reads the copy in group k for even k
  // (so the even users, 5 of the 10, are readers)
  for (let k = 0; k < N_GROUPS; k += 2) {
    await u(k + 2).ok('POST', `/conversations/${chain.groups[k].id}/read`, { message_id: chain.copies[k].id }, 204);
  }
});

test('staff cannot trace, contain or open context (403)', async () => {
  const id = chain.copies[3].id;
  for (const who of [w.staff, u(3)]) {
    assertError(await who.get(`/officer/spread?message_id=${id}`), 403, 'forbidden');
    assertError(await who.post('/officer/contain', { message_id: id, reason: 'x', scope: 'tree', action: 'remove' }), 403, 'forbidden');
    assertError(await who.post('/officer/context', { message_id: id, reason: 'x' }), 403, 'forbidden');
  }
});

test('the spread from any copy is the whole tree: conversations, forwarders, recipients, readers', async () => {
  const s = await w.off.ok('GET', `/officer/spread?message_id=${chain.copies[17].id}`);
  assert.equal(s.root_message_id, chain.copies[0].id);
  assert.equal(s.root_sender_id, u(0).user.id);
  assert.equal(s.truncated, false);
  assert.deepEqual(s.totals, { copies: N_GROUPS, conversations: N_GROUPS, recipients: N_USERS, readers: N_USERS / 2 });
  assert.equal(s.copies.length, N_GROUPS);
  for (let k = 0; k < N_GROUPS; k++) {
    const c = s.copies[k];
    assert.equal(c.message_id, chain.copies[k].id, `copy ${k} in order`);
    assert.deepEqual(c.conversation, { id: chain.groups[k].id, kind: 'group', title: `项目群 ${k}`, external: false });
    assert.equal(c.sender_id, u(k).user.id, 'the forwarder');
    assert.equal(c.parent_id, k ? chain.copies[k - 1].id : null);
    assert.equal(c.depth, k);
    assert.equal(c.state, 'visible');
    assert.deepEqual(c.recipients.sort((a, b) => a - b), [u(k + 1).user.id, u(k + 2).user.id].sort((a, b) => a - b));
    assert.deepEqual(c.read_by, k % 2 === 0 ? [u(k + 2).user.id] : []);
    assert.ok(c.created_at > 0);
  }
  assert.ok(!JSON.stringify(s).includes(MARK), 'a spread carries no content');
  // the same tree from the original, and by an admin
  const s2 = await w.admin.ok('GET', `/officer/spread?message_id=${chain.copies[0].id}`);
  assert.deepEqual(s2.copies.map((c) => c.message_id), s.copies.map((c) => c.message_id));
  assertError(await w.off.get('/officer/spread?message_id=999999'), 404, 'not_found');
  assertError(await w.off.get('/officer/spread'), 400, 'bad_request');
});

async function openAll() {
  const socks = [];
  for (let i = 0; i < N_USERS; i++) socks.push({ i, ws: await Ws.open(u(i)) });
  return socks;
}

// every copy in a group the user belongs to
const copiesOf = (i) => chain.copies.filter((_, k) => [k, k + 1, k + 2].some((x) => x % N_USERS === i));

test('quarantine hides every copy from every member, restore brings them back', async () => {
  const socks = await openAll();
  try {
    assertError(await w.off.post('/officer/contain', { message_id: chain.copies[5].id, scope: 'tree', action: 'quarantine' }), 400, 'reason_required');
    const q = await w.off.ok('POST', '/officer/contain', { message_id: chain.copies[5].id, reason: '疑似泄密，待核查', scope: 'tree', action: 'quarantine' }, 200);
    assert.equal(q.changed_count, N_GROUPS);
    assert.equal(q.root_message_id, chain.copies[0].id);
    for (const { i, ws } of socks) {
      for (const m of copiesOf(i)) {
        const ev = await ws.waitType('message.recalled', (e) => e.message_id === m.id);
        assert.equal(ev.by, 'officer');
        assert.equal(ev.contained, 'quarantined');
      }
    }
    const h = await history(u(4), chain.groups[3].id);
    const m = h.body.messages.find((x) => x.id === chain.copies[3].id);
    assert.equal(m.text, null);
    assert.equal(m.contained, 'quarantined');
    assert.ok(!h.text.includes(MARK));
    // kept for review, not erased
    assert.equal(sql(`SELECT count(*) FROM message_quarantine WHERE body LIKE '%${MARK}%'`), String(N_GROUPS));
    // a quarantined message cannot be forwarded on
    const fw = await u(4).post(`/messages/${chain.copies[3].id}/forward`, { conversation_ids: [chain.groups[4].id] });
    assert.ok((fw.status === 200 ? fw.body.results[0].status : fw.status) >= 400, fw.text);
    const s = await w.off.ok('GET', `/officer/spread?message_id=${chain.copies[0].id}`);
    assert.ok(s.copies.every((c) => c.state === 'quarantined'));
    // the officer reviews the held text (with a reason, audited); members never get it
    const review = await w.off.ok('POST', '/officer/context', { message_id: chain.copies[3].id, reason: '审查隔离内容' }, 200);
    const held = review.messages.find((x) => x.id === chain.copies[3].id);
    assert.equal(held.text, null);
    assert.equal(held.contained, 'quarantined');
    assert.ok(held.held_text.includes(MARK), JSON.stringify(held));
    assert.ok(!JSON.stringify(await history(u(4), chain.groups[3].id)).includes('held_text'));

    const r = await w.off.ok('POST', '/officer/contain', { message_id: chain.copies[0].id, reason: '核查后无问题', scope: 'tree', action: 'restore' }, 200);
    assert.equal(r.changed_count, N_GROUPS);
    for (const { i, ws } of socks) {
      for (const m2 of copiesOf(i)) await ws.waitType('message.restored', (e) => e.message_id === m2.id);
    }
    const h2 = await history(u(4), chain.groups[3].id);
    const back = h2.body.messages.find((x) => x.id === chain.copies[3].id);
    assert.ok(back.text.includes(MARK), 'restored as it was');
    assert.equal(back.recalled, false);
    assert.equal(back.contained, undefined);
    assert.equal(sql('SELECT count(*) FROM message_quarantine'), '0');
  } finally {
    for (const { ws } of socks) await ws.close();
  }
});

test('one action removes every copy from every conversation and every client', async () => {
  const socks = await openAll();
  try {
    // the officer is a member of none of the 30 groups
    const c = await w.off.ok('POST', '/officer/contain', { message_id: chain.copies[22].id, reason: '图纸外泄，全部撤回', scope: 'tree', action: 'remove' }, 200);
    assert.equal(c.action, 'remove');
    assert.equal(c.scope, 'tree');
    assert.equal(c.copies, N_GROUPS);
    assert.equal(c.changed_count, N_GROUPS);
    assert.deepEqual(c.changed.map((x) => x.message_id).sort((a, b) => a - b), chain.copies.map((m) => m.id).sort((a, b) => a - b));
    for (const { i, ws } of socks) {
      for (const m of copiesOf(i)) {
        const ev = await ws.waitType('message.recalled', (e) => e.message_id === m.id);
        assert.deepEqual(ev, { type: 'message.recalled', conversation_id: m.conversation_id, message_id: m.id, by: 'officer', contained: 'removed' });
      }
    }
    for (let k = 0; k < N_GROUPS; k++) {
      const h = await history(u(k + 1), chain.groups[k].id);
      assert.ok(!h.text.includes(MARK), `nothing left in group ${k}'s history`);
      const m = h.body.messages.find((x) => x.id === chain.copies[k].id);
      assert.deepEqual([m.text, m.recalled, m.contained], [null, true, 'removed']);
    }
    for (let i = 0; i < N_USERS; i++) {
      assert.ok(!JSON.stringify(await u(i).ok('GET', '/conversations')).includes(MARK), 'nor in any conversation list');
    }
    assert.equal(sql(`SELECT count(*) FROM messages WHERE body LIKE '%${MARK}%' OR justification LIKE '%${MARK}%'`), '0');
    assert.equal(sql('SELECT count(*) FROM message_quarantine'), '0');
    // removal is final: restore changes nothing, removing again is harmless
    const again = await w.off.ok('POST', '/officer/contain', { message_id: chain.copies[0].id, reason: 'again', scope: 'tree', action: 'restore' }, 200);
    assert.equal(again.changed_count, 0);
    const s = await w.off.ok('GET', `/officer/spread?message_id=${chain.copies[9].id}`);
    assert.ok(s.copies.every((x) => x.state === 'removed'));
  } finally {
    for (const { ws } of socks) await ws.close();
  }
});

test('scope copy contains one message only; bad requests are clear', async () => {
  const g = await conversation(u(0), [u(1)], { title: 'copy scope' });
  const h = await conversation(u(1), [u(2)], { title: 'copy scope 2' });
  const r = await send(u(0), g.id, 'one copy only');
  const f = await u(1).ok('POST', `/messages/${r.body.message.id}/forward`, { conversation_ids: [h.id] }, 200);
  const c = await w.off.ok('POST', '/officer/contain', { message_id: f.results[0].message.id, reason: 'only the forward', scope: 'copy', action: 'remove' }, 200);
  assert.deepEqual(c.changed, [{ message_id: f.results[0].message.id, conversation_id: h.id }]);
  const hist = await history(u(0), g.id);
  assert.equal(hist.body.messages.find((x) => x.id === r.body.message.id).text, 'one copy only', 'the original stays');
  assertError(await w.off.post('/officer/contain', { message_id: r.body.message.id, reason: 'x', scope: 'all' }), 400, 'bad_request');
  assertError(await w.off.post('/officer/contain', { message_id: r.body.message.id, reason: 'x', action: 'delete' }), 400, 'bad_request');
  assertError(await w.off.post('/officer/contain', { reason: 'x' }), 400, 'bad_request');
  assertError(await w.off.post('/officer/contain', { message_id: 999999, reason: 'x' }), 404, 'not_found');
  assertError(await w.off.post('/officer/contain', { message_id: r.body.message.id, reason: 'x'.repeat(1001) }), 400, 'reason_too_long');
});

test('alerts carry their place in the forward tree; the context around one opens with a reason, audited', async () => {
  const g = await conversation(u(0), [u(1)], { title: '客户群' });
  const h = await conversation(u(1), [u(2)], { title: '转发群' });
  await send(u(0), g.id, 'before the number');
  const r = await send(u(0), g.id, '客户的手机号是13800138000');
  assert.equal(r.body.guard.verdict, 'warn');
  const f = await u(1).ok('POST', `/messages/${r.body.message.id}/forward`, { conversation_ids: [h.id] }, 200);
  const fwd = f.results[0].message;
  const alerts = await w.off.ok('GET', `/alerts?conversation_id=${h.id}`);
  const a = alerts.alerts.find((x) => x.message_id === fwd.id);
  assert.ok(a, JSON.stringify(alerts));
  assert.deepEqual(a.forward, { depth: 1, root_message_id: r.body.message.id, root_sender_id: u(0).user.id });
  const one = await w.off.ok('GET', `/alerts/${a.id}`);
  assert.deepEqual(one.forward, a.forward);
  // the spread from the alert
  const s = await w.off.ok('GET', `/officer/spread?alert_id=${a.id}`);
  assert.equal(s.root_message_id, r.body.message.id);
  assert.equal(s.copies.length, 2);

  assertError(await w.off.post('/officer/context', { alert_id: a.id }), 400, 'reason_required');
  const ctx = await w.off.ok('POST', '/officer/context', { alert_id: a.id, reason: '核查告警 来源' }, 200);
  assert.equal(ctx.message_id, fwd.id);
  assert.equal(ctx.conversation.id, h.id);
  assert.equal(ctx.conversation.title, '转发群');
  assert.ok(ctx.messages.some((m) => m.id === fwd.id));
  const ctx2 = await w.off.ok('POST', '/officer/context', { message_id: r.body.message.id, reason: '看上下文' }, 200);
  assert.deepEqual(ctx2.messages.map((m) => m.text), ['before the number', r.body.message.text]);
});

test('every trace and containment is audited with its reason and what changed', async () => {
  const entries = await auditEntries(w.admin);
  const contains = entries.filter((e) => e.event === 'officer.contain');
  const removal = contains.find((e) => e.detail.reason === '图纸外泄，全部撤回');
  assert.ok(removal, JSON.stringify(contains.map((e) => e.detail.reason)));
  assert.equal(removal.actor_id, w.off.user.id);
  assert.equal(removal.detail.action, 'remove');
  assert.equal(removal.detail.scope, 'tree');
  assert.equal(removal.detail.root, chain.copies[0].id);
  assert.equal(removal.detail.changed.length, N_GROUPS);
  assert.deepEqual(removal.detail.changed[0], { conversation: chain.groups[0].id, message: chain.copies[0].id });
  assert.ok(contains.some((e) => e.detail.action === 'quarantine' && e.detail.reason === '疑似泄密，待核查'));
  assert.ok(contains.some((e) => e.detail.action === 'restore' && e.detail.changed.length === N_GROUPS));
  const ctx = entries.find((e) => e.event === 'officer.context' && e.detail.reason === '核查告警 来源');
  assert.ok(ctx && ctx.detail.alert > 0 && ctx.target.startsWith('conversation:'));
  assert.ok(entries.some((e) => e.event === 'officer.spread' && e.actor_id === w.off.user.id));
  assert.ok(!JSON.stringify(entries).includes(MARK), 'the audit log keeps no removed text');
  const v = await w.admin.ok('GET', '/audit/verify');
  assert.equal(v.ok, true, JSON.stringify(v));
  auditVerify(w.srv);
});
