'use strict';
// The reference: Debian's mosquitto, no persistence, no inspection, QoS 0.
// One topic per conversation; every member subscribes to it.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { MqttLite } = require('./mqttlite.js');
const { freePort, sleep, procCpu, procMem } = require('./common.js');

class MqttTarget {
  constructor(opts) {
    this.name = 'mosquitto';
    this.bin = opts.mosquitto || '/usr/sbin/mosquitto';
    this.clients = [];
    this.onDeliver = () => {};
    this.onAck = null; // QoS 0: no acknowledgement
  }

  async start() {
    this.port = await freePort();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-bench-mqtt-'));
    const conf = path.join(this.dir, 'mosquitto.conf');
    fs.writeFileSync(conf, [
      `listener ${this.port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'max_connections -1',
      'set_tcp_nodelay true',
      'max_queued_messages 100000',
      'log_dest none',
      '',
    ].join('\n'));
    this.proc = spawn(this.bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
    this.pid = this.proc.pid;
    for (let i = 0; i < 100; i++) {
      if (await new Promise((r) => {
        const s = net.connect(this.port, '127.0.0.1', () => { s.destroy(); r(true); });
        s.on('error', () => r(false));
      })) return;
      await sleep(50);
    }
    throw new Error('mosquitto did not start');
  }

  // convs: arrays of client indexes. Connects nclients and subscribes each
  // member to its conversations' topics.
  async setup(nclients, convs) {
    this.convOf = [];
    const batch = 200;
    for (let i = 0; i < nclients; i += batch) {
      const ps = [];
      for (let j = i; j < Math.min(nclients, i + batch); j++) {
        const c = new MqttLite(this.port, 'c' + j, (topic, payload) =>
          this.onDeliver(j, Number(topic.slice(2)), payload));
        this.clients[j] = c;
        ps.push(c.ready);
      }
      await Promise.all(ps);
    }
    const subs = [];
    convs.forEach((members, ci) => {
      for (const m of members) subs.push(this.clients[m].subscribe('c/' + ci));
    });
    await Promise.all(subs);
  }

  send(client, conv, text) {
    this.clients[client].publish('c/' + conv, text);
    return true;
  }

  cpuNodes() { return [{ total: procCpu(this.pid), parts: null }]; }
  memNodes() { return [procMem(this.pid)]; }

  backlog(client) { return this.clients[client].bufferedAmount; }

  async connectOnly(n) {
    for (let i = 0; i < n; i += 500) {
      const ps = [];
      for (let j = i; j < Math.min(n, i + 500); j++) {
        const c = new MqttLite(this.port, 'k' + j, () => {});
        this.clients.push(c);
        ps.push(c.ready);
      }
      await Promise.all(ps);
    }
  }

  async teardown() {
    for (const c of this.clients) if (c) c.close();
    this.clients = [];
    await sleep(200);
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      await new Promise((r) => this.proc.once('exit', r));
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

module.exports = { MqttTarget };
