// The live connection: one WebSocket to /api/v1/ws, reconnect with
// exponential backoff and jitter, a keep-alive ping, and a callback when the
// client must resync from history (after a `resync` event or any reconnect).
import type { ServerEvent } from './types';

export interface Backoff {
  base: number;
  max: number;
}

/** Delay before reconnect attempt n (0-based): base·2^n capped at max, with ±20 % jitter. */
export function backoffDelay(n: number, b: Backoff = { base: 500, max: 15000 }, rnd: () => number = Math.random): number {
  const d = Math.min(b.max, b.base * 2 ** Math.min(n, 20));
  return Math.round(d * (0.8 + 0.4 * rnd()));
}

export type WsState = 'connecting' | 'open' | 'closed';

export interface LiveOptions {
  url: string;
  onEvent: (e: ServerEvent) => void;
  onState: (s: WsState) => void;
  /** Called on every (re)connection after the first: page history again. */
  onResync: () => void;
  /** The session is gone (revoked / 401): stop reconnecting. */
  onSessionEnd: () => void;
  makeSocket?: (url: string) => WebSocket;
  pingMs?: number;
}

export class Live {
  private ws: WebSocket | null = null;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private ping: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  private everOpen = false;
  private req = 1;
  private pending = new Map<number, (e: ServerEvent) => void>();

  constructor(private o: LiveOptions) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.ping) clearInterval(this.ping);
    this.timer = null;
    this.ping = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.close(1000);
    }
  }

  /** Sends a frame; resolves with the reply carrying the same `req` (ack/error/pong). */
  request(frame: Record<string, unknown>): Promise<ServerEvent> {
    const req = this.req++;
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== 1) {
        reject(new Error('not connected'));
        return;
      }
      this.pending.set(req, resolve);
      this.ws.send(JSON.stringify({ ...frame, req }));
    });
  }

  send(frame: Record<string, unknown>): boolean {
    if (!this.ws || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  private connect(): void {
    if (this.stopped) return;
    this.o.onState('connecting');
    const ws = (this.o.makeSocket ?? ((u) => new WebSocket(u)))(this.o.url);
    this.ws = ws;
    let opened = false;
    let sessionEnded = false;
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (ev) => {
      let e: ServerEvent;
      try {
        e = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (e.type === 'hello') {
        const again = this.everOpen;
        this.everOpen = true;
        this.attempts = 0;
        this.o.onState('open');
        if (this.ping) clearInterval(this.ping);
        this.ping = setInterval(() => this.send({ type: 'ping' }), this.o.pingMs ?? 25000);
        if (again) this.o.onResync();
      }
      if (e.type === 'session.revoked') sessionEnded = true;
      const req = (e as { req?: number }).req;
      if (req !== undefined && this.pending.has(req)) {
        const r = this.pending.get(req)!;
        this.pending.delete(req);
        r(e);
      }
      this.o.onEvent(e);
    };
    ws.onclose = (ev) => {
      if (this.ping) clearInterval(this.ping);
      this.ping = null;
      for (const [, r] of this.pending) r({ type: 'error', error: { code: 'network', message: 'connection closed' } });
      this.pending.clear();
      if (this.ws !== ws) return;
      this.ws = null;
      this.o.onState('closed');
      if (sessionEnded || ev.code === 4001) {
        this.o.onSessionEnd();
        return;
      }
      // A refused handshake (401/403) never opens: after a few such tries ask the app to check the session.
      if (!opened && this.attempts >= 2) this.o.onSessionEnd();
      this.schedule();
    };
  }

  private schedule(): void {
    if (this.stopped) return;
    const d = backoffDelay(this.attempts++);
    this.timer = setTimeout(() => this.connect(), d);
  }
}

export function wsUrl(loc: { protocol: string; host: string }): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/api/v1/ws`;
}
