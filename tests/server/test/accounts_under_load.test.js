'use strict';
// Accounts are created while messages flow: an admin onboarding people in
// the middle of a busy day gets every account, login and password change
// done, never 503 "the database is busy". The writer thread commits
// message batches back to back; the request workers' own writes (the new
// account and its audit row, the session, the password) must wait their
// turn in order, not lose the race for SQLite's lock until the busy timeout
// runs out (it did in 5 of 16 load-bench set-ups). Every acknowledged
// message is still in history.
//
// The disk is made like the load bench's with tests/slowsync_shim.c,
// preloaded: every fsync takes 20 ms, and in the middle of the onboarding
// one stalls for 7 s (more than SQLite's 5 s busy timeout) while a commit
// holds the lock — the old code answered the requests that queued behind
// it with 503 and refused the messages of the writer's next batch.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { world } = require('../lib/fixture.js');
const { Api, Ws, conversation, login, history } = require('../lib/client.js');

const { CORDON_SLOWSYNC_SHIM, CORDON } = process.env;
const shim = CORDON_SLOWSYNC_SHIM ||
  path.resolve(path.dirname(CORDON || path.join(__dirname, '../../../build/src/tool/cordon')), '../../tests/libslowsync_shim.so');
assert.ok(fs.existsSync(shim), `the slow-sync shim is built: ${shim} (ninja -C build)`);
const SYNC_MS = process.env.ONBOARD_SYNC_MS || '20';
const STALL_MS = 7000;
const stallFile = path.join(fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'cordon-stall-')), 'stall');

const w = world({ a: {}, b: {}, c: {}, d: {} }, {
  config: { limits: { requests_per_second: 100000, burst: 100000 } },
  env: {
    LD_PRELOAD: shim, CORDON_SLOWSYNC_MS: SYNC_MS, CORDON_SLOWSYNC_STALL_FILE: stallFile,
    ASAN_OPTIONS: [process.env.ASAN_OPTIONS, 'verify_asan_link_order=0'].filter(Boolean).join(':'),
  },
});

const ACCOUNTS = Number(process.env.ONBOARD_ACCOUNTS || 32);
const PARALLEL = 8;
const TEXT = 'weekly status: the build is green and the release notes are drafted.';

// Keeps `inflight` sends outstanding on ws until stop() is called; counts
// acknowledgements and errors.
function pump(ws, convId, tag, inflight = 8) {
  const st = { acked: 0, errors: [], sent: 0, stopping: false };
  let out = 0, resolveDone;
  st.done = new Promise((r) => { resolveDone = r; });
  const fire = () => {
    while (!st.stopping && out < inflight) {
      const i = st.sent++;
      out++;
      ws.send({ type: 'message.send', req: i, conversation_id: convId, client_id: `${tag}-${i}`, text: `${i} ${TEXT}` });
    }
    if (st.stopping && out === 0) resolveDone();
  };
  ws.ws.on('message', (d) => {
    const e = JSON.parse(d.toString());
    if (e.type === 'message.ack') { out--; st.acked++; fire(); }
    else if (e.type === 'error' && e.req !== undefined) { out--; st.errors.push(e); fire(); }
  });
  st.stop = () => { st.stopping = true; if (out === 0) resolveDone(); return st.done; };
  fire();
  return st;
}

async function onboard(i, statuses) {
  const name = `onboard${i}x${crypto.randomBytes(3).toString('hex')}`;
  const c = await w.admin.req('POST', '/admin/users', { login: name, display_name: `New hire ${i}` });
  statuses.push(['create', c.status, c.text]);
  if (c.status !== 201) return null;
  const l = await login(w.admin.base, name, c.body.password);
  statuses.push(['login', l.status, l.text]);
  if (l.status !== 200) return null;
  const api = new Api(w.admin.base, l.body.token);
  const p = await api.req('POST', '/auth/password', { old_password: c.body.password, new_password: `Pw-${crypto.randomBytes(6).toString('hex')}-9x` });
  statuses.push(['password', p.status, p.text]);
  if (p.status !== 200 && p.status !== 204) return null;
  const conv = await api.req('POST', '/conversations', { kind: 'direct', member_ids: [w.a.user.id] });
  statuses.push(['conversation', conv.status, conv.text]);
  return conv.status === 201 ? api : null;
}

test('accounts created while messages flow: no 503, nothing acknowledged lost', async () => {
  const ab = await conversation(w.a, [w.b]);
  const cd = await conversation(w.c, [w.d]);
  const grp = await conversation(w.a, [w.b, w.c, w.d], { title: 'standup' });
  const senders = [await Ws.open(w.a), await Ws.open(w.c), await Ws.open(w.b), await Ws.open(w.d)];
  const pumps = [pump(senders[0], ab.id, 'ab'), pump(senders[1], cd.id, 'cd'), pump(senders[2], grp.id, 'g1'), pump(senders[3], grp.id, 'g2')];
  const statuses = [];
  let ackedBefore;
  try {
    // the flow is up before the first account
    const t0 = Date.now();
    while (pumps.reduce((s, p) => s + p.acked, 0) < 200 && Date.now() - t0 < 30000) await new Promise((r) => setTimeout(r, 20));
    ackedBefore = pumps.reduce((s, p) => s + p.acked, 0);
    const todo = Array.from({ length: ACCOUNTS }, (_, i) => i);
    await Promise.all(Array.from({ length: PARALLEL }, async () => {
      while (todo.length) {
        const i = todo.shift();
        // a quarter in: the disk stops for a while under the next commit
        if (i === ACCOUNTS / 4) fs.writeFileSync(stallFile, String(STALL_MS));
        await onboard(i, statuses);
      }
    }));
    assert.ok(!fs.existsSync(stallFile), 'the stall happened during the onboarding');
  } finally {
    await Promise.all(pumps.map((p) => p.stop()));
  }
  const ackedDuring = pumps.reduce((s, p) => s + p.acked, 0) - ackedBefore;
  if (process.env.ONBOARD_VERBOSE) console.log('acked during', ackedDuring, 'statuses', statuses.filter(([, s]) => s >= 300).length);
  const bad = statuses.filter(([, s]) => s >= 300);
  assert.deepEqual(bad, [], 'every onboarding request succeeded');
  assert.equal(statuses.length, ACCOUNTS * 4, 'every account created, logged in, password changed, conversation made');
  for (const p of pumps) assert.deepEqual(p.errors, [], 'every send acknowledged');
  // messages really flowed while the accounts were made (honest load)
  assert.ok(ackedDuring >= ACCOUNTS * 4, `only ${ackedDuring} messages acknowledged while ${ACCOUNTS} accounts were made`);
  // every acknowledged message is in history
  const count = async (api, convId) => {
    let n = 0, q = '?limit=200';
    for (;;) {
      const h = await history(api, convId, q);
      assert.equal(h.status, 200, `history: ${h.text}`);
      n += h.body.messages.length;
      if (!h.body.next_before) return n;
      q = `?limit=200&before=${h.body.next_before}`;
    }
  };
  assert.equal(await count(w.b, ab.id), pumps[0].acked, 'a-b history holds every acknowledged message');
  assert.equal(await count(w.d, cd.id), pumps[1].acked, 'c-d history holds every acknowledged message');
  assert.equal(await count(w.a, grp.id), pumps[2].acked + pumps[3].acked, 'group history holds every acknowledged message');
});
