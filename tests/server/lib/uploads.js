'use strict';
// A whole upload as a tus client makes it (POST, one PATCH), then the
// inspection's end (GET /uploads/{id} leaves "uploading"/"inspecting"):
// the upload's JSON (state, verdict, findings, file_id). Shared by the
// tests of files in chat.
const assert = require('node:assert/strict');
const { sleep, SLOW } = require('./server.js');

const b64 = (s) => Buffer.from(String(s)).toString('base64');
const TUS = { 'Tus-Resumable': '1.0.0' };

async function uploadFile(api, convId, bytes, name) {
  const c = await api.req('POST', '/uploads', undefined, {
    headers: { ...TUS, 'Upload-Length': String(bytes.length), 'Upload-Metadata': `filename ${b64(name)},conversation_id ${b64(convId)}` },
  });
  assert.equal(c.status, 201, c.text);
  const id = c.headers.get('location').split('/').pop();
  const p = await api.req('PATCH', `/uploads/${id}`, undefined, {
    raw: bytes, headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' },
  });
  assert.equal(p.status, 204, p.text);
  const end = Date.now() + 90000 * SLOW;
  for (;;) {
    const r = await api.get(`/uploads/${id}`);
    if (r.body.state !== 'uploading' && r.body.state !== 'inspecting') return r.body;
    assert.ok(Date.now() < end, `inspection did not end: ${r.text}`);
    await sleep(100);
  }
}

module.exports = { uploadFile, TUS, b64 };
