'use strict';
// The bounded outbound queue: a WebSocket client that never reads gets a
// resync and is disconnected, the server's RSS stays bounded, other members
// keep receiving everything, and the slow client recovers from history.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world, auditVerify } = require('../lib/fixture.js');
const { Ws, conversation, newSession } = require('../lib/client.js');
const { sleep, SLOW, procMem, within } = require('../lib/server.js');

const QUEUE_BYTES = 1024 * 1024;
const w = world({ a: {}, b: {}, c: {} }, {
  config: { limits: { ws_queue_bytes: QUEUE_BYTES, requests_per_second: 5000, burst: 5000 } },
});

const N = 4000;
const TEXT = 'status report line, nothing secret here. '.repeat(300); // ~12 KB

test('a client that never reads is cut off with resync; RSS stays bounded', async () => {
  const conv = await conversation(w.a, [w.b, w.c], { title: 'busy' });
  const slow = await Ws.open(await newSession(w.b));
  slow.ws._socket.pause(); // stop reading: TCP fills up, then the server's queue
  const fast = await Ws.open(w.c);
  const senders = [await Ws.open(w.a), await Ws.open(await newSession(w.a))];
  const rss0 = procMem(w.srv.pid).rssKb;
  let maxRss = rss0;
  const sampler = setInterval(() => { maxRss = Math.max(maxRss, procMem(w.srv.pid).rssKb); }, 50);
  try {
    // pipelined sends, 8 in flight per socket
    let next = 0, acked = 0, failed = 0;
    await Promise.all(senders.map((ws, si) => new Promise((resolve, reject) => {
      let inflight = 0;
      const pump = () => {
        while (inflight < 8 && next < N) {
          const i = next++;
          inflight++;
          ws.send({ type: 'message.send', req: i, conversation_id: conv.id, client_id: `slow-${i}`, text: `${i} ${TEXT}` });
        }
        if (inflight === 0 && next >= N) resolve();
      };
      ws.ws.on('message', (d) => {
        const e = JSON.parse(d.toString());
        if (e.type === 'message.ack') { inflight--; acked++; pump(); }
        else if (e.type === 'error' && e.req !== undefined) { inflight--; failed++; pump(); }
      });
      ws.closed.then(() => reject(new Error(`sender ${si} closed: ${JSON.stringify(ws.closeInfo)}`)));
      pump();
    })));
    assert.equal(failed, 0, 'every send accepted');
    assert.equal(acked, N);
    await fast.waitFor(() => fast.events.filter((e) => e.type === 'message.new' && e.message.conversation_id === conv.id).length >= N,
      60000, 'all messages at the reading client');
  } finally {
    clearInterval(sampler);
  }
  const growthMb = (maxRss - rss0) / 1024;
  const sentMb = (N * TEXT.length) / 1048576;
  assert.ok(growthMb < 40, `server RSS grew by ${growthMb.toFixed(1)} MB while ${sentMb.toFixed(0)} MB went to a client that does not read`);

  slow.ws._socket.resume();
  const closed = await within(slow.closed, 20000 * SLOW);
  assert.ok(closed, 'the slow consumer was disconnected');
  assert.equal(closed.code, 4002, `close code: ${JSON.stringify(closed)}`);
  const resync = slow.events.find((e) => e.type === 'resync');
  assert.ok(resync, `resync sent before closing; got ${slow.events.length} events`);
  assert.equal(resync.reason, 'slow_consumer');
  const got = slow.events.filter((e) => e.type === 'message.new').length;
  assert.ok(got < N, `the slow client did not get everything buffered (${got})`);

  // it reconnects and pages history: everything is there
  const again = await Ws.open(w.b);
  let before = '', count = 0;
  for (;;) {
    const h = await w.b.ok('GET', `/conversations/${conv.id}/messages?limit=200${before}`);
    count += h.messages.length;
    if (h.next_before === null || h.next_before === undefined) break;
    before = `&before=${h.next_before}`;
  }
  assert.equal(count, N, 'history has every message');
  await again.close();
  await fast.close();
  for (const s of senders) await s.close();
});

test('audit chain verifies after the run', async () => {
  auditVerify(w.srv);
});
