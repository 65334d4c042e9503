'use strict';
// HTTP and WebSocket clients of `cordon serve`, and helpers that set up
// accounts the way a real deployment does (bootstrap admin, admin API,
// first-login password change).
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const WebSocket = require('ws');
const { sleep, SLOW } = require('./server.js');

const API = '/api/v1';

class Api {
  constructor(base, token = null) {
    this.base = base;
    this.token = token;
  }

  // Returns {status, body, headers, text}; never throws on an HTTP status.
  // opts.raw: send this string/Buffer as the body as is; opts.headers: extra.
  async req(method, p, body, opts = {}) {
    const headers = { ...(opts.headers || {}) };
    if (this.token && !('Authorization' in headers)) headers.Authorization = `Bearer ${this.token}`;
    let payload;
    if (opts.raw !== undefined) {
      payload = opts.raw;
      if (!('Content-Type' in headers)) headers['Content-Type'] = 'application/json';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    const res = await fetch(this.base + API + p, { method, headers, body: payload });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = undefined; }
    return { status: res.status, body: json, text, headers: res.headers };
  }

  get(p, opts) { return this.req('GET', p, undefined, opts); }
  post(p, body, opts) { return this.req('POST', p, body === undefined ? {} : body, opts); }
  patch(p, body, opts) { return this.req('PATCH', p, body, opts); }
  del(p, opts) { return this.req('DELETE', p, undefined, opts); }

  // Asserts the status and returns the body.
  async ok(method, p, body, status) {
    const r = await this.req(method, p, body);
    const want = status || (method === 'POST' ? [200, 201, 204] : [200, 204]);
    const list = Array.isArray(want) ? want : [want];
    assert.ok(list.includes(r.status), `${method} ${p} -> ${r.status} ${r.text}`);
    return r.body;
  }
}

// Asserts an error response of the documented shape.
function assertError(r, status, code, what = '') {
  assert.equal(r.status, status, `${what} status (body ${r.text})`);
  assert.ok(r.body && typeof r.body === 'object' && r.body.error, `${what} error object (body ${r.text})`);
  assert.equal(typeof r.body.error.message, 'string', `${what} error.message`);
  assert.ok(r.body.error.message.length > 0, `${what} error.message not empty`);
  if (code) assert.equal(r.body.error.code, code, `${what} error.code (body ${r.text})`);
}

async function login(base, loginName, password, totp) {
  const api = new Api(base);
  const body = { login: loginName, password };
  if (totp !== undefined) body.totp = totp;
  const r = await api.post('/auth/login', body);
  return r;
}

const NEW_PW_SUFFIX = '-Changed-9x!';

// Logs the bootstrap admin in, changes its one-time password and returns
// an Api with its token (and .password, .user).
async function bootstrapAdmin(srv) {
  assert.ok(srv.adminPassword, 'bootstrap admin password printed or written');
  const r = await login(srv.base, srv.adminLogin || 'admin', srv.adminPassword);
  assert.equal(r.status, 200, `bootstrap admin login: ${r.text}`);
  const api = new Api(srv.base, r.body.token);
  const pw = srv.adminPassword + NEW_PW_SUFFIX;
  await api.ok('POST', '/auth/password', { old_password: srv.adminPassword, new_password: pw });
  api.password = pw;
  api.user = (await api.ok('GET', '/me'));
  srv.adminPassword = pw;
  return api;
}

let userSeq = 0;
// Creates a user through the admin API, logs in, does the first-login
// password change. Returns an Api with .user, .password, .login, .sessionId.
async function makeUser(admin, opts = {}) {
  const name = opts.login || `u${process.pid}x${++userSeq}`;
  const body = { login: name, display_name: opts.display_name || `User ${name}` };
  if (opts.role) body.role = opts.role;
  if (opts.external) body.external = true;
  const created = await admin.ok('POST', '/admin/users', body, 201);
  assert.ok(created.user && created.password, 'created user and one-time password');
  const r = await login(admin.base, name, created.password);
  assert.equal(r.status, 200, `first login of ${name}: ${r.text}`);
  assert.equal(r.body.must_change_password, true, 'a new account must change its password');
  const api = new Api(admin.base, r.body.token);
  const pw = `Pw-${crypto.randomBytes(6).toString("hex")}-9x`;
  await api.ok('POST', '/auth/password', { old_password: created.password, new_password: pw });
  api.password = pw;
  api.login = name;
  api.user = created.user;
  api.sessionId = r.body.session_id;
  return api;
}

// A second session (new login) of the same user.
async function newSession(api) {
  const r = await login(api.base, api.login, api.password);
  assert.equal(r.status, 200, `login ${api.login}: ${r.text}`);
  const s = new Api(api.base, r.body.token);
  Object.assign(s, { login: api.login, password: api.password, user: api.user, sessionId: r.body.session_id });
  return s;
}

// A WebSocket client that records every event.
class Ws {
  constructor(ws) {
    this.ws = ws;
    this.events = [];
    this.waiters = [];
    this.closeInfo = null;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this._check();
      });
    });
    ws.on('message', (data) => {
      let ev;
      try { ev = JSON.parse(data.toString('utf8')); } catch { ev = { type: '<unparsable>', raw: data.toString() }; }
      this.events.push(ev);
      this._check();
    });
    ws.on('error', () => { /* close follows */ });
  }

  // Opens /api/v1/ws with the bearer header (or ?token= when opts.query).
  // Resolves after the hello event; rejects with err.status on a refused
  // handshake.
  static open(api, opts = {}) {
    const url = api.base.replace(/^http/, 'ws') + API + '/ws' + (opts.query ? `?token=${encodeURIComponent(api.token)}` : '');
    const headers = opts.query ? {} : { Authorization: `Bearer ${api.token}` };
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, perMessageDeflate: false });
      const w = new Ws(ws);
      ws.once('unexpected-response', (req, res) => {
        const e = new Error(`ws handshake refused: ${res.statusCode}`);
        e.status = res.statusCode;
        req.destroy();
        reject(e);
      });
      ws.once('error', reject);
      w.waitFor((e) => e.type === 'hello', 10000).then(() => resolve(w), reject);
    });
  }

  _check() {
    this.waiters = this.waiters.filter((w) => {
      const i = this.events.findIndex((e, k) => k >= w.from && w.pred(e));
      if (i >= 0) { w.resolve(this.events[i]); return false; }
      if (this.closeInfo && !w.allowClosed) { w.reject(new Error(`socket closed (${this.closeInfo.code}) while waiting for ${w.what}`)); return false; }
      return true;
    });
  }

  // Resolves with the first event (since index opts.from, default 0) that
  // matches pred.
  waitFor(pred, timeoutMs = 10000, what = pred.toString()) {
    return new Promise((resolve, reject) => {
      const w = { pred, resolve, reject, from: 0, what };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timeout waiting for ${what}; got ${JSON.stringify(this.events.map((e) => e.type))}`));
      }, timeoutMs * SLOW);
      const done = (f) => (v) => { clearTimeout(t); f(v); };
      w.resolve = done(resolve);
      w.reject = done(reject);
      this.waiters.push(w);
      this._check();
    });
  }

  waitType(type, pred = () => true, timeoutMs) {
    return this.waitFor((e) => e.type === type && pred(e), timeoutMs, type);
  }

  find(pred) { return this.events.filter(pred); }

  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }

  close() { try { this.ws.close(); } catch { /* closed */ } return this.closed; }

  terminate() { this.ws.terminate(); }
}

// Sends a text message over HTTP; returns the raw response.
let clientSeq = 0;
function send(api, convId, text, extra = {}) {
  return api.post(`/conversations/${convId}/messages`, { client_id: `c${process.pid}-${++clientSeq}`, text, ...extra });
}

// Creates a conversation. kind 'direct' for two, 'group' otherwise.
async function conversation(owner, members, opts = {}) {
  const ids = members.map((m) => (typeof m === 'number' ? m : m.user.id));
  const body = { kind: opts.kind || (ids.length === 1 && !opts.title ? 'direct' : 'group'), member_ids: ids };
  if (opts.title || body.kind === 'group') body.title = opts.title || 'test group';
  return owner.ok('POST', '/conversations', body, [200, 201]);
}

async function history(api, convId, q = '') {
  const r = await api.get(`/conversations/${convId}/messages${q}`);
  return r;
}

// Waits ms (scaled) and asserts that no event matching pred arrived.
async function assertNone(ws, pred, ms = 800, what = 'event') {
  await sleep(ms * SLOW);
  const got = ws.events.filter(pred);
  assert.equal(got.length, 0, `no ${what} expected, got ${JSON.stringify(got)}`);
}

// RFC 6238 TOTP (SHA-1, 30 s, 6 digits) from a base32 secret.
function base32Decode(s) {
  const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = s.toUpperCase().replace(/=+$/, '').replace(/\s+/g, '');
  let bits = 0, value = 0;
  const out = [];
  for (const ch of clean) {
    const v = alpha.indexOf(ch);
    if (v < 0) throw new Error(`bad base32 character ${ch}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 0xff); bits -= 8; }
  }
  return Buffer.from(out);
}
function totp(secretB32, timeMs = Date.now(), step = 30, digits = 6) {
  const counter = Math.floor(timeMs / 1000 / step);
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = crypto.createHmac('sha1', base32Decode(secretB32)).update(msg).digest();
  const off = h[h.length - 1] & 0x0f;
  const code = ((h.readUInt32BE(off) & 0x7fffffff) % 10 ** digits).toString();
  return code.padStart(digits, '0');
}

// Every audit entry (GET /audit pages oldest first with `after`).
async function auditEntries(admin) {
  const out = [];
  let after = '';
  for (let i = 0; i < 1000; i++) {
    const page = await admin.ok('GET', `/audit?limit=200${after}`);
    out.push(...page.entries);
    if (!page.entries.length || page.next_after === null || page.next_after === undefined) break;
    after = `&after=${page.next_after}`;
  }
  return out;
}

// Asserts that the audit log has an entry for each documented event
// (docs/API.md, "Audit entry": field `event`, e.g. auth.login).
async function assertAudit(admin, events) {
  const entries = await auditEntries(admin);
  const have = new Set(entries.map((e) => e.event));
  const missing = events.filter((a) => !have.has(a));
  assert.deepEqual(missing, [], `documented audit events missing; the log has ${JSON.stringify([...have])}`);
  for (const e of entries) {
    for (const k of ['seq', 'time', 'actor_id', 'event', 'prev_hash', 'hash']) assert.ok(k in e, `audit entry field ${k}: ${JSON.stringify(e)}`);
  }
  return entries;
}

module.exports = {
  auditEntries, assertAudit,
  Api, Ws, assertError, login, bootstrapAdmin, makeUser, newSession, send, conversation,
  history, assertNone, totp, base32Decode,
};
