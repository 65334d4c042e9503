'use strict';
// A minimal MQTT 3.1.1 client for the reference side of the load bench:
// CONNECT (clean session), SUBSCRIBE and PUBLISH at QoS 0, nothing else.
// Kept tiny, as its WebSocket counterpart wslite.js, so that the load
// generator spends as little CPU and garbage per message on either side; a
// full client library would make the server look slower than it is.
const net = require('node:net');

function varint(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

function str(s) {
  const b = Buffer.from(s, 'utf8');
  const h = Buffer.alloc(2);
  h.writeUInt16BE(b.length);
  return Buffer.concat([h, b]);
}

function packet(type, body) {
  return Buffer.concat([Buffer.from([type]), varint(body.length), body]);
}

class MqttLite {
  // onMessage(topic, payloadBuffer) is called for every PUBLISH received.
  constructor(port, clientId, onMessage) {
    this.onMessage = onMessage;
    this.buf = Buffer.alloc(0);
    this.pid = 1;
    this.waiters = new Map(); // packet id -> resolve (SUBACK)
    this.sock = net.connect({ port, host: '127.0.0.1', noDelay: true });
    this.sock.setNoDelay(true);
    this.sock.on('data', (d) => this._data(d));
    this.ready = new Promise((resolve, reject) => {
      this._connack = resolve;
      this.sock.once('error', reject);
    });
    this.sock.on('connect', () => {
      const vh = Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, 0, 0])]);
      this.sock.write(packet(0x10, Buffer.concat([vh, str(clientId)])));
    });
    this.topicCache = new Map();
  }

  _data(d) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let off = 0;
    for (;;) {
      if (this.buf.length - off < 2) break;
      const type = this.buf[off];
      let len = 0, mul = 1, i = off + 1, done = false;
      while (i < this.buf.length && i < off + 5) {
        const b = this.buf[i++];
        len += (b & 0x7f) * mul;
        mul *= 128;
        if (!(b & 0x80)) { done = true; break; }
      }
      if (!done || this.buf.length - i < len) break;
      const body = this.buf.subarray(i, i + len);
      off = i + len;
      const kind = type >> 4;
      if (kind === 3) {
        const tl = body.readUInt16BE(0);
        const topic = body.toString('utf8', 2, 2 + tl);
        const qos = (type >> 1) & 3;
        const p = 2 + tl + (qos ? 2 : 0);
        this.onMessage(topic, body.subarray(p));
      } else if (kind === 2) {
        this._connack();
      } else if (kind === 9) {
        const id = body.readUInt16BE(0);
        const w = this.waiters.get(id);
        if (w) { this.waiters.delete(id); w(); }
      }
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
  }

  subscribe(topic) {
    const id = this.pid++;
    const h = Buffer.alloc(2);
    h.writeUInt16BE(id);
    this.sock.write(packet(0x82, Buffer.concat([h, str(topic), Buffer.from([0])])));
    return new Promise((resolve) => this.waiters.set(id, resolve));
  }

  publish(topic, payload) {
    let t = this.topicCache.get(topic);
    if (!t) { t = str(topic); this.topicCache.set(topic, t); }
    const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
    return this.sock.write(packet(0x30, Buffer.concat([t, p])));
  }

  get bufferedAmount() { return this.sock.writableLength; }

  close() { this.sock.destroy(); }
}

module.exports = { MqttLite };
