'use strict';
// Delivered pointers are stored: a member's `delivered_id` (GET
// /conversations/{id}) reaches the last message pushed to their socket —
// while messages keep flowing (the writer carries the receipts inside a
// message batch's transaction) and when the flow stops (nothing to carry
// them: they are committed on their own within about two seconds) — and
// survives a restart.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world } = require('../lib/fixture.js');
const { Ws, conversation } = require('../lib/client.js');
const { sleep, SLOW } = require('../lib/server.js');

const w = world({ a: {}, b: {}, c: {}, d: {} });

async function deliveredId(api, convId, userId) {
  const c = await api.ok('GET', `/conversations/${convId}`);
  return c.members.find((m) => m.user_id === userId).delivered_id;
}

async function waitDelivered(api, convId, userId, want, ms) {
  const t0 = Date.now();
  let got;
  while (Date.now() - t0 < ms) {
    got = await deliveredId(api, convId, userId);
    if (got >= want) return Date.now() - t0;
    await sleep(100);
  }
  assert.fail(`delivered_id of user ${userId} stayed at ${got}, want ${want}`);
}

// Sends n messages on ws into convId, one after the other; returns the ids.
let reqSeq = 0;
async function sendAll(ws, convId, n, tag) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const req = ++reqSeq;
    ws.send({ type: 'message.send', req, conversation_id: convId, client_id: `${tag}-${i}`, text: `${tag} ${i}` });
    const ack = await ws.waitType('message.ack', (e) => e.req === req, 10000);
    ids.push(ack.message.id);
  }
  return ids;
}

test('delivered pointers are stored while messages flow, after they stop, and across a restart', async () => {
  const ab = await conversation(w.a, [w.b]);
  const cd = await conversation(w.c, [w.d]);
  const wa = await Ws.open(w.a), wb = await Ws.open(w.b);
  const wc = await Ws.open(w.c), wd = await Ws.open(w.d);

  // a's messages reach b's socket while c keeps the writer busy in
  // another conversation: b's pointer is stored with c's batches
  let flowing = true;
  // (paced at most ~100 a second: unpaced, a fast store answers over 200 a
  // second and the session's request limit refuses the flow with an error)
  const flow = (async () => {
    let i = 0;
    while (flowing) {
      await sendAll(wc, cd.id, 1, `flow${i++}-`);
      await sleep(10);
    }
  })();
  const ids = await sendAll(wa, ab.id, 20, 'ab');
  const last = ids[ids.length - 1];
  await wb.waitType('message.new', (e) => e.message.id === last, 10000);
  const tookFlowing = await waitDelivered(w.a, ab.id, w.b.user.id, last, 6000 * SLOW);
  flowing = false;
  await flow;
  assert.ok(tookFlowing < 4000 * SLOW, `stored within 4 s while messages flowed (${tookFlowing} ms)`);

  // nothing flows any more: the last pointers still get stored, alone
  const cdLast = (await sendAll(wc, cd.id, 3, 'tail')).pop();
  await wd.waitType('message.new', (e) => e.message.id === cdLast, 10000);
  const tookQuiet = await waitDelivered(w.c, cd.id, w.d.user.id, cdLast, 6000 * SLOW);
  assert.ok(tookQuiet < 4000 * SLOW, `stored within 4 s with nothing else to write (${tookQuiet} ms)`);

  // the pointers were written to disk: a restart keeps them
  for (const s of [wa, wb, wc, wd]) s.close();
  await w.srv.restart();
  for (const api of [w.a, w.c]) api.base = w.srv.base;
  assert.equal(await deliveredId(w.a, ab.id, w.b.user.id), last, 'b delivered_id after restart');
  assert.equal(await deliveredId(w.c, cd.id, w.d.user.id), cdLast, 'd delivered_id after restart');
});
