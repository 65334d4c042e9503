'use strict';
// Scheduled reminders (定时提醒): created, listed, edited, cancelled; fired
// by the server's one timer as a reminder card in the chat and a
// reminder.due notification to the sessions of the people reminded (never
// to a member who left); the text is inspected at creation and at fire
// time; one due while the server was down fires once at start, late.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world } = require('../lib/fixture.js');
const { Ws, conversation, history, assertError, newSession } = require('../lib/client.js');
const { sleep } = require('../lib/server.js');

// "late" from 8 s on (default 60 s), so the downtime below can be short
const w = world({ a: {}, b: {}, c: {}, x: { external: true } }, { config: { reminder_late_seconds: 8 } });

const soon = (ms = 1500) => Date.now() + ms;

test('a reminder for chosen members fires once: card in the chat, notification to them only', async () => {
  const conv = await conversation(w.a, [w.b, w.c], { title: 'standup' });
  const socks = { a: await Ws.open(w.a), b: await Ws.open(w.b), b2: await Ws.open(await newSession(w.b)), c: await Ws.open(w.c) };
  try {
    const created = await w.a.ok('POST', `/conversations/${conv.id}/reminders`,
      { text: 'submit the weekly report', at: soon(), tz: 'Asia/Shanghai', target: 'members', member_ids: [w.b.user.id] }, 201);
    const rem = created.reminder;
    assert.equal(rem.text, 'submit the weekly report');
    assert.equal(rem.repeat, 'once');
    assert.deepEqual(rem.member_ids, [w.b.user.id]);

    // listed for its creator and for the person reminded, not for others
    const la = await w.a.ok('GET', `/conversations/${conv.id}/reminders`);
    assert.deepEqual(la.reminders.map((r) => r.id), [rem.id]);
    const lb = await w.b.ok('GET', `/conversations/${conv.id}/reminders`);
    assert.deepEqual(lb.reminders.map((r) => r.id), [rem.id]);
    const lc = await w.c.ok('GET', `/conversations/${conv.id}/reminders`);
    assert.deepEqual(lc.reminders, []);

    for (const k of ['b', 'b2']) {
      const ev = await socks[k].waitType('reminder.due', (e) => e.reminder_id === rem.id, 10000);
      assert.equal(ev.conversation_id, conv.id);
      assert.equal(ev.text, 'submit the weekly report');
      assert.equal(ev.late, false);
    }
    const card = await socks.c.waitType('message.new', (e) => e.message.kind === 'reminder');
    assert.equal(card.message.reminder.reminder_id, rem.id);
    assert.deepEqual(card.message.reminder.user_ids, [w.b.user.id]);
    assert.equal(card.message.sender_id, w.a.user.id);
    await sleep(2500); // two more ticks: still one card, one notification
    assert.equal(socks.a.find((e) => e.type === 'reminder.due').length, 0, 'the creator was not reminded');
    assert.equal(socks.c.find((e) => e.type === 'reminder.due').length, 0, 'C was not reminded');
    assert.equal(socks.b.find((e) => e.type === 'reminder.due').length, 1, 'B reminded once');
    const h = await history(w.b, conv.id);
    assert.equal(h.body.messages.filter((m) => m.kind === 'reminder').length, 1, 'one card in the chat');
    // a one-off is done
    const after = await w.a.ok('GET', `/conversations/${conv.id}/reminders`);
    assert.deepEqual(after.reminders, []);
  } finally {
    for (const s of Object.values(socks)) await s.close();
  }
});

test('edit, cancel, authorisation and bad input', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'edit' });
  const at = Date.now() + 3600e3;
  const r = (await w.a.ok('POST', `/conversations/${conv.id}/reminders`, { text: 'call the supplier', at, tz: 'Europe/Berlin', repeat: 'daily' }, 201)).reminder;
  assert.equal(r.target, 'me');
  const edited = (await w.a.ok('PATCH', `/reminders/${r.id}`, { text: 'call the supplier again', repeat: 'weekly' }, 200)).reminder;
  assert.equal(edited.text, 'call the supplier again');
  assert.equal(edited.repeat, 'weekly');
  assert.equal(edited.at, at);

  assertError(await w.b.patch(`/reminders/${r.id}`, { text: 'mine now' }), 403, 'forbidden');
  assertError(await w.a.patch(`/reminders/${r.id}`, { target: 'members' }), 422, 'invalid'); // whom?
  const chosen = (await w.a.ok('PATCH', `/reminders/${r.id}`, { target: 'members', member_ids: [w.b.user.id] }, 200)).reminder;
  assert.deepEqual(chosen.member_ids, [w.b.user.id]);
  assert.deepEqual((await w.a.ok('PATCH', `/reminders/${r.id}`, { text: 'call them' }, 200)).reminder.member_ids, [w.b.user.id], 'kept');
  assertError(await w.c.del(`/reminders/${r.id}`), 404, 'not_found');
  assertError(await w.c.post(`/conversations/${conv.id}/reminders`, { text: 'x', at }), 404, 'not_found');
  assertError(await w.a.post(`/conversations/${conv.id}/reminders`, { text: 'x', at, tz: 'Mars/Olympus' }), 422, 'invalid_tz');
  assertError(await w.a.post(`/conversations/${conv.id}/reminders`, { text: 'x', at: Date.now() - 3600e3 }), 422, 'invalid_time');
  assertError(await w.a.post(`/conversations/${conv.id}/reminders`, { text: 'x', at, repeat: 'hourly' }), 422, 'invalid');
  assertError(await w.a.post(`/conversations/${conv.id}/reminders`, { text: 'x', at, target: 'members', member_ids: [w.c.user.id] }), 422, 'invalid');
  assertError(await w.a.post(`/conversations/${conv.id}/reminders`, { text: '', at }), 422, 'invalid');

  await w.a.ok('DELETE', `/reminders/${r.id}`, undefined, 204);
  assertError(await w.a.del(`/reminders/${r.id}`), 404, 'not_found');
});

test('live: members hear reminder.created/updated/deleted/fired (ids only), every session', async () => {
  const conv = await conversation(w.a, [w.b, w.c], { title: 'live list' });
  const wb2 = await Ws.open(await newSession(w.b));
  const wc = await Ws.open(w.c);
  const wa2 = await Ws.open(await newSession(w.a)); // the creator's other session
  try {
    const text = 'ring the supplier about the delivery';
    const rem = (await w.a.ok('POST', `/conversations/${conv.id}/reminders`, { text, at: soon(60000), tz: 'UTC', target: 'all' }, 201)).reminder;
    for (const ws of [wb2, wc, wa2]) {
      const ev = await ws.waitType('reminder.created', (e) => e.reminder_id === rem.id);
      assert.deepEqual(Object.keys(ev).sort(), ['conversation_id', 'reminder_id', 'type'], 'ids only');
      assert.equal(ev.conversation_id, conv.id);
    }
    await w.a.ok('PATCH', `/reminders/${rem.id}`, { text: 'ring the supplier at ten' }, 200);
    await wb2.waitType('reminder.updated', (e) => e.reminder_id === rem.id);
    await w.a.ok('DELETE', `/reminders/${rem.id}`, undefined, 204);
    await wc.waitType('reminder.deleted', (e) => e.reminder_id === rem.id);
    // one that fires: reminder.fired to every member (its card goes as a message)
    const due = (await w.a.ok('POST', `/conversations/${conv.id}/reminders`, { text: 'stand up now', at: soon(), tz: 'UTC', target: 'me' }, 201)).reminder;
    await wc.waitType('reminder.fired', (e) => e.reminder_id === due.id, 10000);
    assert.ok(!JSON.stringify(wc.events.filter((e) => e.type.startsWith('reminder.'))).includes('supplier'), 'no text in the events');
  } finally { wb2.close(); wc.close(); wa2.close(); }
});

test('the guard inspects the text at creation', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'guarded' });
  const r = await w.a.post(`/conversations/${conv.id}/reminders`,
    { text: '机密★10年 会议纪要 明天提交', at: soon(60000) });
  assert.ok([403, 409].includes(r.status), `refused: ${r.status} ${r.text}`);
  assert.ok(['guard_blocked', 'guard_confirm'].includes(r.body.error.code));
  const l = await w.a.ok('GET', `/conversations/${conv.id}/reminders`);
  assert.deepEqual(l.reminders, [], 'nothing stored');
});

test('the policy in force at fire time: a conversation turned external gets the card masked', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'turning external' });
  const text = '联系人 13800138000 身份证 11010519491231002X';
  const rem = (await w.a.ok('POST', `/conversations/${conv.id}/reminders`, { text, at: soon(3000), target: 'all' }, 201)).reminder;
  assert.equal(rem.text, text, 'internal scope at creation: kept as written');
  await w.a.ok('POST', `/conversations/${conv.id}/members`, { user_id: w.x.user.id }, [200, 201, 204]);
  const wx = await Ws.open(w.x);
  try {
    const due = await wx.waitType('reminder.due', (e) => e.reminder_id === rem.id, 10000);
    assert.ok(!due.text.includes('13800138000') && !due.text.includes('11010519491231002X'), `masked for the external member: ${due.text}`);
    const card = (await history(w.x, conv.id)).body.messages.find((m) => m.kind === 'reminder');
    assert.equal(card.masked, true);
    assert.ok(!JSON.stringify(card).includes('13800138000'));
  } finally {
    await wx.close();
  }
});

test('refused by the policy at fire time: one alert, no card, the reminder ends', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'refused later' });
  const text = '工作秘密\n关于下季度人员调整的初步方案'; // allowed inside, blocked for an external reader
  const rem = (await w.a.ok('POST', `/conversations/${conv.id}/reminders`, { text, at: soon(2500), target: 'all' }, 201)).reminder;
  await w.a.ok('POST', `/conversations/${conv.id}/members`, { user_id: w.x.user.id }, [200, 201, 204]);
  await sleep(6000); // the time, and a few ticks after it
  const h = await history(w.a, conv.id);
  assert.equal(h.body.messages.filter((m) => m.kind === 'reminder').length, 0, 'no card');
  const alerts = (await w.admin.ok('GET', `/alerts?conversation_id=${conv.id}`)).alerts;
  assert.equal(alerts.length, 1, `one alert, not one per tick: ${JSON.stringify(alerts.map((a) => a.verdict))}`);
  assert.equal(alerts[0].user_id, w.a.user.id, 'raised on the creator');
  const l = await w.a.ok('GET', `/conversations/${conv.id}/reminders`);
  assert.ok(!l.reminders.some((r) => r.id === rem.id), 'the one-off is over');
});

test('a member who left is not reminded', async () => {
  const conv = await conversation(w.a, [w.b, w.c], { title: 'leavers' });
  const ws = { b: await Ws.open(w.b), c: await Ws.open(w.c) };
  try {
    const rem = (await w.a.ok('POST', `/conversations/${conv.id}/reminders`, { text: 'team lunch', at: soon(2500), target: 'all' }, 201)).reminder;
    await w.c.ok('POST', `/conversations/${conv.id}/leave`, {}, [200, 204]);
    await ws.b.waitType('reminder.due', (e) => e.reminder_id === rem.id, 10000);
    const card = (await history(w.b, conv.id)).body.messages.find((m) => m.kind === 'reminder');
    assert.ok(card, 'the card is in the chat');
    assert.ok(!card.reminder.user_ids.includes(w.c.user.id), 'C is not among the reminded');
    await sleep(1200);
    assert.equal(ws.c.find((e) => e.type === 'reminder.due').length, 0, 'C got no notification');
  } finally {
    await ws.b.close();
    await ws.c.close();
  }
});

test('due while the server was down: fires once at start, marked late; repeats move on', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'restart' });
  const at = Date.now() + 1500;
  const once = (await w.a.ok('POST', `/conversations/${conv.id}/reminders`, { text: 'during downtime', at, target: 'all' }, 201)).reminder;
  const daily = (await w.a.ok('POST', `/conversations/${conv.id}/reminders`, { text: 'every day', at, repeat: 'daily', tz: 'Asia/Shanghai', target: 'all' }, 201)).reminder;
  await w.srv.stop();
  await sleep(8000 + 2500); // due while down, and later than the "late" threshold
  await w.srv.restart();
  for (const api of [w.a, w.b]) api.base = w.srv.base;
  const ws = await Ws.open(w.b);
  try {
    await sleep(2500);
    const cards = (await history(w.b, conv.id)).body.messages.filter((m) => m.kind === 'reminder');
    const byRem = (id) => cards.filter((m) => m.reminder.reminder_id === id);
    assert.equal(byRem(once.id).length, 1, `the one-off fired once: ${JSON.stringify(cards)}`);
    assert.equal(byRem(daily.id).length, 1, 'the daily one fired once for the missed time');
    assert.equal(byRem(once.id)[0].reminder.late, true, 'marked late');
    const l = (await w.a.ok('GET', `/conversations/${conv.id}/reminders`)).reminders;
    assert.deepEqual(l.map((r) => r.id), [daily.id], 'the one-off is done, the daily one remains');
    // the same wall-clock time tomorrow (Asia/Shanghai has no DST: +24 h)
    assert.equal(l[0].at, daily.at + 86400e3);
    assert.equal(l[0].fired_count, 1);
    // and once more: a second restart fires nothing again
    await w.srv.restart();
    for (const api of [w.a, w.b]) api.base = w.srv.base;
    await sleep(2500);
    const again = (await history(w.b, conv.id)).body.messages.filter((m) => m.kind === 'reminder');
    assert.equal(again.length, cards.length, 'never twice');
  } finally {
    await ws.close();
  }
});
