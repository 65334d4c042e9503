'use strict';
// One server per test file: start it, bootstrap the admin, create the users
// the file needs, and always stop it at the end.
const assert = require('node:assert/strict');
const { before, after } = require('node:test');
const { Server } = require('./server.js');
const { bootstrapAdmin, makeUser } = require('./client.js');

// users: {name: {role?, external?}}. Returns a world object filled in by
// the before() hook: {srv, admin, <name>: Api, ...}.
function world(users = {}, serverOpts = {}) {
  const w = {};
  before(async () => {
    w.srv = await Server.start(serverOpts);
    w.admin = await bootstrapAdmin(w.srv);
    for (const [name, o] of Object.entries(users)) w[name] = await makeUser(w.admin, o);
  });
  after(async () => {
    if (w.srv) {
      const wasRunning = w.srv.running;
      const exit = await w.srv.stop();
      const log = w.srv.log(80);
      if (process.env.TEST_SERVER_LOG) process.stderr.write(log + '\n');
      await w.srv.dispose();
      // every file ends with a graceful shutdown: exit 0, no sanitizer report
      if (wasRunning) assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, `SIGTERM at the end: ${JSON.stringify(exit)}\n${log}`);
    }
  });
  return w;
}

// `cordon audit verify` on the server's data dir (the server may run).
function auditVerify(srv) {
  const r = srv.cli(['audit', 'verify', '--data', srv.storeDir]);
  assert.equal(r.status, 0, `cordon audit verify exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

module.exports = { world, auditVerify };
