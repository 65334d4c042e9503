'use strict';
// Operating the server (issue 19): GET /api/v1/ready for a load balancer,
// and Prometheus metrics on a listener of their own — never on the public
// port — in a format `promtool check metrics` accepts, with numbers that
// follow what the server did.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { world } = require('../lib/fixture.js');
const { conversation, Ws } = require('../lib/client.js');

const w = world({ a: {}, b: {} }, { config: { metrics_listen: '127.0.0.1:0' } });

function metricsBase() {
  const line = w.srv.logLines.find((l) => /cordon: metrics on /.test(l));
  assert.ok(line, 'the server says where its metrics are');
  return /(http:\/\/[^/\s]+)\/metrics/.exec(line)[1];
}

async function scrape() {
  const r = await fetch(metricsBase() + '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  return r.text();
}

// The value of one series ("name{labels}" exactly as exposed), or 0.
function value(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

test('ready: the store answers and a policy is loaded', async () => {
  const r = await fetch(w.srv.base + '/api/v1/ready');
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { ready: true, store: 'ok', policy: 'ok', bus: 'ok' });
});

test('metrics: on their own listener only, valid for promtool, counting what happened', async () => {
  // not on the public port (which may answer with the web client's page)
  const pub = await fetch(w.srv.base + '/metrics');
  assert.ok(!(await pub.text()).includes('cordon_requests_total'), 'no metrics on the public port');
  // the metrics listener serves nothing else
  assert.equal((await fetch(metricsBase() + '/api/v1/health')).status, 404);

  const sock = await Ws.open(w.b);
  const before = await scrape();
  const conv = await conversation(w.a, [w.b]);
  for (let i = 0; i < 3; i++) await w.a.ok('POST', `/conversations/${conv.id}/messages`, { text: `ops ${i}`, client_id: `ops-${i}` }, 201);
  const blocked = await w.a.post(`/conversations/${conv.id}/messages`, { text: '机密★10年 会议纪要', client_id: 'ops-b' });
  assert.ok(blocked.status >= 400, blocked.text);
  const after = await scrape();

  const sent = 'cordon_requests_total{route="POST /api/v1/conversations/{id}/messages",code="2xx"}';
  assert.equal(value(after, sent) - value(before, sent), 3, 'three sends answered 2xx');
  assert.equal(value(after, 'cordon_guard_verdicts_total{action="allow"}') - value(before, 'cordon_guard_verdicts_total{action="allow"}'), 3);
  assert.equal(value(after, 'cordon_guard_verdicts_total{action="block"}') - value(before, 'cordon_guard_verdicts_total{action="block"}'), 1);
  assert.equal(value(after, 'cordon_messages_stored_total') - value(before, 'cordon_messages_stored_total'), 3);
  assert.ok(value(after, 'cordon_guard_scan_seconds_count') >= 4);
  assert.ok(value(after, 'cordon_websockets') >= 1, 'b\'s socket is counted');
  assert.ok(value(after, 'cordon_connections') >= 1);
  sock.ws.close();
  assert.ok(after.includes('cordon_build_info{version="'));

  const check = spawnSync('promtool', ['check', 'metrics'], { input: after, encoding: 'utf8' });
  assert.equal(check.error, undefined, `promtool: ${check.error}`);
  assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}`);
});

test('metrics: where a message waits, stage by stage, from its frame to the sockets', async () => {
  const sa = await Ws.open(w.a);
  const sb = await Ws.open(w.b);
  const conv = await conversation(w.a, [w.b]);
  const before = await scrape();
  const stage = (text, s) => value(text, `cordon_message_stage_seconds_count{stage="${s}"}`);
  for (let i = 0; i < 3; i++) {
    sa.send({ type: 'message.send', req: i + 1, conversation_id: conv.id, client_id: `ops-ws-${i}`, text: `ops ws ${i}` });
    await sa.waitType('message.ack', (e) => e.req === i + 1);
    await sb.waitType('message.new', (e) => e.message.text === `ops ws ${i}`);
  }
  const after = await scrape();
  // every stage of each of the three sends, from the worker to the sockets
  for (const s of ['queue', 'plan', 'writer_queue', 'commit', 'publish', 'answer', 'total']) {
    assert.equal(stage(after, s) - stage(before, s), 3, `stage ${s}: one observation per message`);
  }
  // message.new to b's socket and to a's own (the sender's other view)
  assert.ok(stage(after, 'fanout') - stage(before, 'fanout') >= 3, 'fan-out observed per socket written');
  // a message's server part is the sum of its stages at most: none is negative or absurd
  const sum = (s) => value(after, `cordon_message_stage_seconds_sum{stage="${s}"}`) - value(before, `cordon_message_stage_seconds_sum{stage="${s}"}`);
  assert.ok(sum('total') > 0 && sum('total') < 30, `total ${sum('total')} s for three messages`);
  assert.ok(sum('commit') <= sum('total'), 'the commit is part of the total');
  // the writer's groups and their store time
  assert.ok(value(after, 'cordon_writer_batch_commits_count') - value(before, 'cordon_writer_batch_commits_count') >= 3);
  assert.ok(value(after, 'cordon_writer_batch_store_seconds_count') >= value(after, 'cordon_writer_batch_commits_count'));
  assert.ok(after.includes('cordon_store_checkpoint_seconds_count{by="checkpoint"}'));
  sa.ws.close();
  sb.ws.close();
  const check = spawnSync('promtool', ['check', 'metrics'], { input: after, encoding: 'utf8' });
  assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}`);
});
