'use strict';
// A throwaway redis-server for the integration tests (scripts/redis-test-server.sh:
// loopback, a temp dir, nothing saved), and what the tests do to it: shut it
// down without saving and start it again on the same port, as an operator's
// restart or a crash would.
//
//   const r = Redis.start();   r.url, r.port
//   r.shutdown()               SHUTDOWN NOSAVE (every connection drops)
//   r.restart()                the same port again, empty
//   r.stop()                   stops it and removes its directory
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const SCRIPT = path.resolve(__dirname, '..', '..', '..', 'scripts', 'redis-test-server.sh');

function run(args) {
  const r = spawnSync('sh', [SCRIPT, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`redis-test-server.sh ${args.join(' ')}: ${r.stderr || r.error}`);
  return r.stdout.trim();
}

class Redis {
  static start() {
    const [port, dir] = run(['start']).split(/\s+/);
    const r = new Redis();
    r.port = Number(port);
    r.dir = dir;
    r.url = `redis://127.0.0.1:${r.port}`;
    return r;
  }

  shutdown() {
    spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), 'shutdown', 'nosave'], { encoding: 'utf8' });
  }

  restart() { run(['start', String(this.port), this.dir]); }

  cli(...args) {
    return spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), ...args], { encoding: 'utf8' }).stdout.trim();
  }

  stop() { if (this.dir) run(['stop', this.dir]); this.dir = null; }
}

module.exports = { Redis };
