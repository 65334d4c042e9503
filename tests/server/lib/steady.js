'use strict';
// A steady send load for the durability and shutdown tests: HTTP loops
// (one request at a time each) and WebSocket senders (message.send with a
// few in flight). Records what the server acknowledged and what was only
// attempted, by client_id.
const WebSocket = require('ws');

class Steady {
  // senders: [{api, kind: 'http'|'ws'}], convId
  constructor(senders, convId, tag) {
    this.senders = senders;
    this.convId = convId;
    this.tag = tag;
    this.acked = new Map(); // client_id -> {id, text, sender}
    this.attempted = new Map(); // client_id -> {text, api}
    this.errors = [];
    this.running = false;
    this.seq = 0;
  }

  text(cid) { return `steady-body ${this.tag} ${cid} 周报进度正常`; }

  start() {
    this.running = true;
    this.done = Promise.all(this.senders.map((s, i) => (s.kind === 'ws' ? this._ws(s.api, i) : this._http(s.api, i))));
  }

  async stop() { this.running = false; await this.done; }

  async _http(api, si) {
    while (this.running) {
      const cid = `${this.tag}-h${si}-${this.seq++}`;
      const text = this.text(cid);
      this.attempted.set(cid, { text, api });
      try {
        const r = await api.post(`/conversations/${this.convId}/messages`, { client_id: cid, text });
        if (r.status === 201 || r.status === 200) this.acked.set(cid, { id: r.body.message.id, text, api });
        else if (r.status === 503) break; // shutting down: what was acked so far counts
        else this.errors.push(`${r.status} ${r.text}`);
      } catch {
        break; // connection refused/reset: the server is gone
      }
    }
  }

  _ws(api, si) {
    return new Promise((resolve) => {
      const url = api.base.replace(/^http/, 'ws') + '/api/v1/ws';
      const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${api.token}` }, perMessageDeflate: false });
      const pending = new Map(); // req -> cid
      let req = 0, finished = false;
      const finish = () => { if (!finished) { finished = true; clearInterval(t); try { ws.terminate(); } catch { /* */ } resolve(); } };
      const pump = () => {
        while (this.running && pending.size < 8 && ws.readyState === WebSocket.OPEN) {
          const cid = `${this.tag}-w${si}-${this.seq++}`;
          const text = this.text(cid);
          this.attempted.set(cid, { text, api });
          pending.set(++req, cid);
          ws.send(JSON.stringify({ type: 'message.send', req, conversation_id: this.convId, client_id: cid, text }));
        }
        if (!this.running && pending.size === 0) finish();
      };
      ws.on('message', (d) => {
        const e = JSON.parse(d.toString());
        if (e.type === 'hello') pump();
        if (e.req === undefined || !pending.has(e.req)) return;
        const cid = pending.get(e.req);
        pending.delete(e.req);
        if (e.type === 'message.ack') this.acked.set(cid, { id: e.message.id, text: this.attempted.get(cid).text, api });
        else if (e.error && e.error.code === 'unavailable') this.running = false; // shutting down
        else this.errors.push(JSON.stringify(e));
        pump();
      });
      ws.on('error', () => {});
      ws.on('close', finish);
      const t = setInterval(() => { if (!this.running) pump(); }, 50);
    });
  }
}

// Every message of a conversation, paging history (newest first).
async function allMessages(api, convId) {
  const out = [];
  let before = '';
  for (let i = 0; i < 10000; i++) {
    const r = await api.get(`/conversations/${convId}/messages?limit=200${before}`);
    if (r.status !== 200) throw new Error(`history: ${r.status} ${r.text}`);
    out.push(...r.body.messages);
    if (r.body.next_before === null || r.body.next_before === undefined) break;
    before = `&before=${r.body.next_before}`;
  }
  return out;
}

module.exports = { Steady, allMessages };
