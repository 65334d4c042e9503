'use strict';
// Fail closed, as the server meets it: every inspection worker crashes
// (the worker's test hook CORDON_TEST_WORKER_CRASH: it aborts once
// sandboxed, before it reads the file). A picture and an archive then end
// `uninspectable.crash`, never `ready`: the policy decides (the default
// asks for a justification), nothing reaches the other member unless the
// sender gives one. A plain text file, read in the server's process, is
// not touched by the hook and is delivered as usual.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { world } = require('../lib/fixture.js');
const { conversation } = require('../lib/client.js');
const { uploadFile } = require('../lib/uploads.js');

const w = world({ a: {}, b: {} }, { env: { CORDON_TEST_WORKER_CRASH: '1' } });

// A 1×1 PNG and a one-member zip (stored), written out by hand.
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
  '1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2e9b6f80000000049454e44ae426082', 'hex');
function zip(name, data) {
  const crc = require('node:zlib').crc32(data); // Node 20.15+
  const n = Buffer.from(name);
  const local = Buffer.alloc(30); local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc >>> 0, 14); local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(n.length, 26);
  const cen = Buffer.alloc(46); cen.writeUInt32LE(0x02014b50, 0); cen.writeUInt16LE(20, 4); cen.writeUInt16LE(20, 6);
  cen.writeUInt32LE(crc >>> 0, 16); cen.writeUInt32LE(data.length, 20); cen.writeUInt32LE(data.length, 24);
  cen.writeUInt16LE(n.length, 28);
  const body = Buffer.concat([local, n, data]);
  const end = Buffer.alloc(22); end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(1, 8); end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + n.length, 12); end.writeUInt32LE(body.length, 16);
  return Buffer.concat([body, cen, n, end]);
}

test('a worker that crashes: the file is uninspectable, held by the policy, never ready', async () => {
  const conv = await conversation(w.a, [w.b], { title: 'crash' });
  for (const [name, bytes] of [['dot.png', PNG], ['notes.zip', zip('notes.txt', Buffer.from('meeting notes\n'))]]) {
    const up = await uploadFile(w.a, conv.id, bytes, name);
    assert.notEqual(up.state, 'ready', `${name}: ${JSON.stringify(up)}`);
    assert.notEqual(up.verdict, 'allow', name);
    assert.ok(up.findings.some((f) => f.rule === 'uninspectable.crash'), `${name}: ${JSON.stringify(up.findings)}`);
    if (up.state === 'held') {
      const r = await w.a.req('POST', `/conversations/${conv.id}/messages`, { client_id: `crash-${name}`, attachments: [up.file_id] });
      assert.equal(r.status, 409, r.text);
    }
    const d = await fetch(`${w.srv.base}/api/v1/files/${up.file_id}`, { headers: { Authorization: `Bearer ${w.b.token}` } });
    assert.equal(d.status, 404, `${name}: nothing for the other member`);
  }
  // text is read in the server's process: no worker, delivered
  const txt = await uploadFile(w.a, conv.id, Buffer.from('plain words\n'), 'plain.txt');
  assert.equal(txt.state, 'ready', JSON.stringify(txt));
});
