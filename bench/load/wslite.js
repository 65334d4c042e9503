'use strict';
// A minimal WebSocket client (RFC 6455) for the cordon side of the load
// bench, the counterpart of mqttlite.js: the opening handshake (checked),
// unfragmented text frames out, text/binary frames in (fragments joined),
// ping answered, close. Nothing else: no extensions, no subprotocols.
//
// Why not `ws`: at 5,000 msgs/s its per-frame objects made the load
// generator allocate ~35 MB/s, so it stopped for a scavenge (7-10 ms on one
// GC thread) three times a second and for a major GC about once a second,
// and those pauses were most of the p99 the bench reported as the
// server's (docs/BENCH.md "Session 12"). mosquitto's side has always had a
// client this small (mqttlite.js); both sides now cost the generator about
// the same per message. The web client and the integration tests still
// talk through browsers and `ws`.
const net = require('node:net');
const crypto = require('node:crypto');

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

class WsLite {
  // url: ws://host:port/path. onMessage(buf) gets each message's payload
  // (a view into the socket's chunk: read it before returning).
  constructor(url, headers, onMessage) {
    const u = new URL(url);
    this.onMessage = onMessage;
    this.onClose = () => {};
    this.buf = null; // unparsed bytes after the handshake
    this.frags = null; // payloads of a fragmented message so far
    this.open = false;
    const key = crypto.randomBytes(16).toString('base64');
    this.accept = crypto.createHash('sha1').update(key + GUID).digest('base64');
    this.sock = net.connect({ port: Number(u.port), host: u.hostname, noDelay: true });
    this.sock.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this._opened = resolve;
      this._failed = reject;
    });
    this.sock.once('error', (e) => this._failed(e));
    this.sock.on('close', () => {
      if (!this.open) this._failed(new Error('ws: closed during the handshake'));
      this.open = false;
      this.onClose();
    });
    this.sock.on('connect', () => {
      let req = `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n`;
      for (const [k, v] of Object.entries(headers || {})) req += `${k}: ${v}\r\n`;
      this.sock.write(req + '\r\n');
    });
    this.sock.on('data', (d) => (this.open ? this._frames(d) : this._handshake(d)));
  }

  _handshake(d) {
    this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.buf.length > 16384) this._fail('ws: handshake answer too long');
      return;
    }
    const head = this.buf.toString('latin1', 0, end);
    const status = /^HTTP\/1\.1 (\d{3})/.exec(head);
    if (!status || status[1] !== '101') return this._fail(`ws refused: ${status ? status[1] : head.slice(0, 40)}`);
    const acc = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(head);
    if (!acc || acc[1] !== this.accept) return this._fail('ws: bad Sec-WebSocket-Accept');
    const rest = this.buf.subarray(end + 4);
    this.buf = null;
    this.open = true;
    this._opened(this);
    if (rest.length) this._frames(rest);
  }

  _fail(msg) {
    this._failed(new Error(msg));
    this.sock.destroy();
  }

  _frames(d) {
    let b = this.buf ? Buffer.concat([this.buf, d]) : d;
    let off = 0;
    this.buf = null;
    while (b.length - off >= 2) {
      const b0 = b[off], b1 = b[off + 1];
      if (b1 & 0x80) return this._fail('ws: masked frame from the server');
      let len = b1 & 0x7f, p = off + 2;
      if (len === 126) {
        if (b.length - off < 4) break;
        len = b.readUInt16BE(off + 2);
        p += 2;
      } else if (len === 127) {
        if (b.length - off < 10) break;
        len = b.readUInt32BE(off + 2) * 4294967296 + b.readUInt32BE(off + 6);
        p += 8;
      }
      if (b.length - p < len) break;
      const payload = b.subarray(p, p + len), op = b0 & 0x0f, fin = (b0 & 0x80) !== 0;
      off = p + len;
      if (op === 0x9) this._control(0xa, payload);
      else if (op === 0x8) { this._control(0x8, payload.subarray(0, 2)); this.sock.end(); return; }
      else if (op === 0x1 || op === 0x2 || op === 0x0) {
        if (fin && !this.frags) this.onMessage(payload);
        else {
          // a copy: the chunk the payload points into is reused
          (this.frags ||= []).push(Buffer.from(payload));
          if (fin) {
            const whole = Buffer.concat(this.frags);
            this.frags = null;
            this.onMessage(whole);
          }
        }
      }
    }
    if (off < b.length) this.buf = Buffer.from(b.subarray(off));
  }

  // One frame in one allocation. Client frames must be masked (RFC 6455
  // 5.3); the key is all zero, which leaves the payload as it is: the
  // server unmasks by the key it is given, and the bench has no proxy to
  // confuse (the reason for random keys).
  _frame(op, str, payloadBuf) {
    const len = payloadBuf ? payloadBuf.length : Buffer.byteLength(str);
    const hl = len < 126 ? 6 : len < 65536 ? 8 : 14;
    const f = Buffer.allocUnsafe(hl + len);
    f[0] = 0x80 | op;
    if (len < 126) f[1] = 0x80 | len;
    else if (len < 65536) { f[1] = 0x80 | 126; f.writeUInt16BE(len, 2); }
    else { f[1] = 0x80 | 127; f.writeUInt32BE(Math.floor(len / 4294967296), 2); f.writeUInt32BE(len >>> 0, 6); }
    f.writeUInt32BE(0, hl - 4);
    if (payloadBuf) payloadBuf.copy(f, hl);
    else f.write(str, hl, 'utf8');
    return f;
  }

  _control(op, payload) { if (this.open) this.sock.write(this._frame(op, null, payload)); }

  send(str) { return this.sock.write(this._frame(0x1, str, null)); }

  terminate() { this.open = false; this.sock.destroy(); }
}

module.exports = { WsLite };
