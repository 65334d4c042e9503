'use strict';
// Shared pieces of the load bench: message markers, latency histogram,
// /proc sampling, free ports.
const fs = require('node:fs');
const net = require('node:net');

// Numbers are written with letters only (base 26) so that the guard never
// mistakes a marker for a phone, ID or card number.
function b26(n) {
  let s = '';
  do { s = String.fromCharCode(97 + (n % 26)) + s; n = Math.floor(n / 26); } while (n > 0);
  return s;
}
function unb26(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) n = n * 26 + (s.charCodeAt(i) - 97);
  return n;
}

const BODY = '进度更新：周报已经整理好，请大家在周五前看一下。Status update: weekly report is ready for review. ';
const t0 = process.hrtime.bigint();
function nowUs() { return Number((process.hrtime.bigint() - t0) / 1000n); }

function marker(sender, seq) {
  return '~' + b26(sender) + '~' + b26(seq) + '~' + b26(nowUs()) + '~';
}
function makeText(sender, seq) { return BODY + marker(sender, seq); }

// Returns {sender, seq, ts} from the last marker of a text, or null.
function parseText(text) {
  const e = text.lastIndexOf('~');
  if (e < 0) return null;
  const parts = text.slice(text.lastIndexOf('~', text.lastIndexOf('~', text.lastIndexOf('~', e - 1) - 1) - 1) + 1, e).split('~');
  if (parts.length !== 3) return null;
  return { sender: unb26(parts[0]), seq: unb26(parts[1]), ts: unb26(parts[2]) };
}

class Hist {
  constructor() { this.v = []; }
  add(us) { this.v.push(us); }
  reset() { this.v = []; }
  pct(p) {
    if (!this.v.length) return NaN;
    const s = Float64Array.from(this.v).sort();
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
  }
  get count() { return this.v.length; }
}

const TICK = 100; // USER_HZ on Linux
function procCpu(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK; // utime + stime, seconds
  } catch { return NaN; }
}
function procMem(pid) {
  const out = { rss: NaN, hwm: NaN };
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const r = /VmRSS:\s+(\d+)/.exec(s), h = /VmHWM:\s+(\d+)/.exec(s);
    if (r) out.rss = Number(r[1]) / 1024;
    if (h) out.hwm = Number(h[1]) / 1024;
  } catch { /* gone */ }
  return out;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The same from the raw bytes of a frame (a Buffer), allocating nothing:
// the markers are ASCII, so the frame need not be decoded.
function parseTextBuf(buf) {
  const e = buf.lastIndexOf(126); // '~'
  if (e < 0) return null;
  const c = buf.lastIndexOf(126, e - 1), b = c > 0 ? buf.lastIndexOf(126, c - 1) : -1, a = b > 0 ? buf.lastIndexOf(126, b - 1) : -1;
  if (a < 0) return null;
  const num = (from, to) => { let n = 0; for (let i = from; i < to; i++) n = n * 26 + (buf[i] - 97); return n; };
  return { sender: num(a + 1, b), seq: num(b + 1, c), ts: num(c + 1, e) };
}

module.exports = { b26, unb26, makeText, parseText, parseTextBuf, nowUs, Hist, procCpu, procMem, freePort, sleep };
