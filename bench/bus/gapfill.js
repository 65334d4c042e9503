'use strict';
// The gap fill (docs/BENCH.md, "The gap fill"; docs/SCALING.md, "A lost bus
// message is never a lost message"): two `cordon serve` nodes on one
// PostgreSQL database and one Redis, a member of G groups connected to node
// B; Redis shut down, N messages sent on node A spread over the groups,
// Redis started again. Printed:
//   - the fill as node B logs it (read from the store, handed to its
//     sockets) and the time from Redis' restart to the last message on B's
//     socket (B resubscribes, fills, the socket has them all);
//   - the reference, from the same run: psql reading the same rows
//     (`SELECT * FROM messages WHERE id > floor ORDER BY id`, \timing),
//     what the store's read alone costs;
//   - and what the fill spares: the client's resync (a reconnect, the
//     conversation list, a history page of each group), timed on B.
// usage: CORDON_TEST_PG=postgresql://… node bench/bus/gapfill.js [N=900] [G=20]
//        (CORDON=path/to/cordon; a cluster from scripts/pg-test-server.sh)
const { spawnSync } = require('node:child_process');
const { Server, sleep } = require('../../tests/server/lib/server.js');
const { Api, Ws, bootstrapAdmin, makeUser, send, history } = require('../../tests/server/lib/client.js');
const { Redis } = require('../../tests/server/lib/redis.js');

const N = Number(process.argv[2] || 900);
const G = Number(process.argv[3] || 20);
const PG = process.env.CORDON_TEST_PG || process.env.CORDON_TEST_STORE_PG;
const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6;

function psql(url, ...args) {
  const r = spawnSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAt', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  return r.stdout;
}

(async () => {
  if (!PG) throw new Error('CORDON_TEST_PG: a postgresql:// URL (scripts/pg-test-server.sh start DIR)');
  delete process.env.CORDON_TEST_STORE_PG;
  const name = `cordon_gapfill_${process.pid}`;
  psql(PG, '-c', `DROP DATABASE IF EXISTS ${name}`, '-c', `CREATE DATABASE ${name}`);
  const m = /^(postgres(?:ql)?:\/\/[^/]*\/)([^?]*)(.*)$/.exec(PG);
  const db = m[1] + name + m[3];
  const redis = Redis.start();
  const config = (node) => ({ store: db, bus: redis.url, node_name: node,
    limits: { requests_per_second: 100000, burst: 100000 } });
  let A, B;
  try {
    A = await Server.start({ config: config('a') });
    const admin = await bootstrapAdmin(A);
    B = await Server.start({ config: config('b') });
    const a = await makeUser(admin), b = await makeUser(admin);
    const onB = new Api(B.base, b.token);
    const groups = [];
    for (let k = 0; k < G; k++)
      groups.push((await a.ok('POST', '/conversations', { kind: 'group', title: `g${k}`, member_ids: [b.user.id] }, 201)).id);
    for (const g of groups) await send(a, g, 'warm-up');
    const sock = await Ws.open(onB);
    await sleep(6000); // B's samples of the highest id pass the margin
    const floor = Number(psql(db, '-c', 'SELECT max(id) FROM messages').trim());

    redis.shutdown();
    let next = 0;
    const worker = async () => {
      for (let i; (i = next++) < N;) {
        const r = await send(a, groups[i % G], `gap ${i}`);
        if (r.status !== 201) throw new Error(`send: ${r.status} ${r.text}`);
      }
    };
    let t = process.hrtime.bigint();
    await Promise.all(Array.from({ length: 8 }, worker));
    console.log(`setup: ${N} messages in ${G} groups sent on A with Redis down, ${(ms(t) / 1000).toFixed(1)} s`);
    const seen = B.logLines.length;
    t = process.hrtime.bigint();
    redis.restart();
    const gapMsgs = () => sock.find((e) => e.type === 'message.new' && /^gap /.test(e.message.text)).length;
    // (sent by 8 clients at once: the last text is not the highest id)
    for (const end = Date.now() + 120000; gapMsgs() < N && Date.now() < end && !sock.closeInfo;) await sleep(5);
    const toLast = ms(t);
    const got = gapMsgs();
    await sleep(500);
    const line = B.logLines.slice(seen).find((l) => /gap filled from the store/.test(l)) || '(no fill logged: the socket resynced?)';
    const fillMs = Number((/in (\d+) ms/.exec(line) || [])[1]);
    if (sock.closeInfo) console.log(`socket closed: ${JSON.stringify(sock.closeInfo)}`);

    // the reference: the same rows read by psql (\timing: the statement's time)
    const ref = [];
    for (let i = 0; i < 5; i++) {
      const out = psql(db, '-c', '\\timing on', '-c', `SELECT * FROM messages WHERE id > ${floor} ORDER BY id`);
      ref.push(Number(/Time: ([\d.]+) ms/.exec(out)[1]));
    }
    ref.sort((x, y) => x - y);
    const psqlMs = ref[2];

    // what the fill spares: the client's resync on B
    const rs = [];
    for (let i = 0; i < 5; i++) {
      t = process.hrtime.bigint();
      const s = await Ws.open(onB);
      const list = await onB.get('/conversations');
      for (const c of list.body.conversations) await history(onB, c.id);
      rs.push(ms(t));
      await s.close();
    }
    rs.sort((x, y) => x - y);

    console.log(`node B: ${line.replace(/^.*info bus: /, '')}`);
    console.log(`B's socket: ${got} of ${N} messages, the last ${toLast.toFixed(0)} ms after Redis restarted (resubscribe + fill + delivery)`);
    console.log(`psql, the same ${N} rows: ${psqlMs.toFixed(1)} ms (median of 5)`);
    if (fillMs) console.log(`ratio fill / psql read: ${(fillMs / psqlMs).toFixed(1)}x`);
    console.log(`a client's resync instead (reconnect, list, ${G} history pages), per client: ${rs[2].toFixed(0)} ms (median of 5)`);
    await sock.close();
  } finally {
    for (const s of [A, B]) if (s) { await s.stop(); await s.dispose(); }
    redis.stop();
    psql(PG, '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
})().catch((e) => { console.error(e); process.exit(1); });
