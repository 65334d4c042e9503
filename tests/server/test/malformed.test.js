'use strict';
// Malformed requests get a clear {"error":{"code","message"}} with the right
// status, and the server keeps serving.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { world, auditVerify } = require('../lib/fixture.js');
const { Ws, conversation, assertError } = require('../lib/client.js');
const { sleep, SLOW, within } = require('../lib/server.js');

const w = world({ a: {}, b: {} });
let conv;

async function alive() {
  const r = await fetch(w.srv.base + '/api/v1/health');
  assert.equal(r.status, 200, 'the server still answers');
  assert.ok(w.srv.running, 'the server process is alive');
}

test('bad JSON, wrong types, missing fields: 400 bad_request', async () => {
  conv = await conversation(w.a, [w.b]);
  const M = `/conversations/${conv.id}/messages`;
  const raw = [
    ['POST', '/conversations', '{"kind": "group", '],
    ['POST', '/conversations', 'not json at all'],
    ['POST', '/conversations', '[1,2,3]'],
    ['POST', M, '{"client_id": "a", "text": "x"} trailing'],
    ['POST', M, '{"client_id": "a", "text": "\\ud800"}'], // lone surrogate
    ['POST', '/auth/login', '{"login": "a", "password": '],
  ];
  for (const [m, p, body] of raw) {
    const r = await w.a.req(m, p, undefined, { raw: body });
    assertError(r, 400, 'bad_request', `${m} ${p} ${body}`);
  }
  const typed = [
    ['POST', '/conversations', { kind: 5, member_ids: [w.b.user.id] }],
    ['POST', '/conversations', { kind: 'group', member_ids: 'everyone' }],
    ['POST', '/conversations', { kind: 'group', member_ids: ['x'] }],
    ['POST', M, { client_id: 'a1', text: 42 }],
    ['POST', M, { client_id: 17, text: 'hi' }],
    ['POST', M, { client_id: 'a2' }],
    ['POST', M, { client_id: 'a3', text: 'hi', justification: ['no'] }],
    ['POST', '/guard/check', { text: null }],
    ['POST', `/conversations/${conv.id}/read`, { message_id: 'latest' }],
    ['POST', '/auth/login', { login: ['a'], password: 'x' }],
  ];
  for (const [m, p, body] of typed) {
    assertError(await w.a.req(m, p, body), 400, 'bad_request', `${m} ${p} ${JSON.stringify(body)}`);
  }
  assertError(await w.a.get(`${M}?limit=abc`), 400, 'bad_request', 'bad query parameter');
  assertError(await w.a.get(`${M}?before=-x`), 400, 'bad_request', 'bad cursor');
  assertError(await w.a.get('/conversations/abc'), 404, null, 'non-numeric id');
  await alive();
});

test('invalid UTF-8 in a body: 400, nothing stored', async () => {
  const bodies = [
    Buffer.concat([Buffer.from('{"client_id":"u1","text":"caf'), Buffer.from([0xc3]), Buffer.from('"}')]),
    Buffer.concat([Buffer.from('{"client_id":"u2","text":"'), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('"}')]),
    Buffer.concat([Buffer.from('{"client_id":"u3","text":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), // CESU surrogate
    Buffer.concat([Buffer.from('{"client_id":"u4","text":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), // overlong
  ];
  for (const b of bodies) {
    assertError(await w.a.req('POST', `/conversations/${conv.id}/messages`, undefined, { raw: b }), 400, 'bad_request', b.toString('hex'));
  }
  const h = await w.a.ok('GET', `/conversations/${conv.id}/messages`);
  assert.ok(!h.messages.some((m) => /^u[1-4]$/.test(m.client_id)), 'nothing stored');
  await alive();
});

test('size limits: 413 for the body, 422 for the message', async () => {
  const big = JSON.stringify({ client_id: 'big', text: 'x'.repeat(70 * 1024) });
  assertError(await w.a.req('POST', `/conversations/${conv.id}/messages`, undefined, { raw: big }), 413, 'payload_too_large');
  const huge = 'y'.repeat(4 * 1024 * 1024);
  const r = await w.a.req('POST', '/guard/check', undefined, { raw: `{"text":"${huge}"}` }).catch((e) => ({ status: 'reset', e }));
  assert.ok(r.status === 413 || r.status === 'reset', `4 MiB body refused: ${r.status}`);
  if (r.status === 413) assertError(r, 413, 'payload_too_large');
  assertError(await w.a.post(`/conversations/${conv.id}/messages`, { client_id: 'long', text: 'z'.repeat(16385) }), 422, 'message_too_large');
  assert.equal((await w.a.post(`/conversations/${conv.id}/messages`, { client_id: 'edge', text: 'z'.repeat(16384) })).status, 201, 'exactly the limit is fine');
  assertError(await w.a.post(`/conversations/${conv.id}/messages`, { client_id: 'empty', text: '' }), 422, 'invalid');
  const longId = await w.a.post(`/conversations/${conv.id}/messages`, { client_id: 'c'.repeat(65), text: 'x' });
  assertError(longId, longId.status === 422 ? 422 : 400, null, 'client_id over 64 bytes');
  await alive();
});

test('unknown routes and methods', async () => {
  assertError(await w.a.get('/no/such/thing'), 404, 'not_found');
  assertError(await w.a.del('/conversations'), 405, 'method_not_allowed');
  assertError(await w.a.req('PUT', '/auth/login', {}), 405, 'method_not_allowed');
  await alive();
});

test('raw garbage on the socket does not hurt the server', async () => {
  const payloads = [
    'GARBAGE\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n',
    'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n{',
    `GET /api/v1/${'a'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    Buffer.alloc(4096, 0),
    'GET /api/v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n',
  ];
  for (const p of payloads) {
    await new Promise((resolve) => {
      const s = net.connect(w.srv.port, '127.0.0.1', () => { s.write(p); setTimeout(() => s.end(), 200); });
      s.on('data', () => {});
      s.on('error', resolve);
      s.on('close', resolve);
      setTimeout(() => { s.destroy(); resolve(); }, 3000 * SLOW).unref();
    });
  }
  // a connection that opens and never says anything
  const idle = net.connect(w.srv.port, '127.0.0.1');
  await sleep(200);
  await alive();
  idle.destroy();
});

test('malformed WebSocket frames: error events, the socket and the server survive', async () => {
  const ws = await Ws.open(w.a);
  try {
    ws.send('this is not json');
    const e1 = await ws.waitType('error');
    assert.equal(e1.error.code, 'bad_request');
    ws.send({ type: 'no.such.type', req: 2 });
    const e2 = await ws.waitFor((e) => e.type === 'error' && e.req === 2);
    assert.equal(e2.error.code, 'bad_request');
    ws.send({ type: 'message.send', req: 3, conversation_id: 'x', client_id: 1, text: 5 });
    const e3 = await ws.waitFor((e) => e.type === 'error' && e.req === 3);
    assert.equal(e3.error.code, 'bad_request');
    ws.send({ type: 'ping', req: 9 });
    await ws.waitFor((e) => e.type === 'pong' && e.req === 9, 10000, 'pong after garbage');
  } finally { await ws.close(); }

  const big = await Ws.open(w.a);
  big.send({ type: 'message.send', req: 1, conversation_id: conv.id, client_id: 'huge', text: 'q'.repeat(16384 + 8192) });
  const c = await within(big.closed, 10000 * SLOW);
  assert.ok(c, 'an oversized frame closes the connection');
  assert.equal(c.code, 1009);
  await alive();
});

test('audit chain verifies after the run', async () => {
  auditVerify(w.srv);
});
