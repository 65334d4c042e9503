import { describe, expect, it, vi } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { en, initialLang, translate, zh } from '../src/i18n';
import { actionOf, lastDays, perDay, topOverriders, topRules } from '../src/stats';
import { Live, backoffDelay, wsUrl } from '../src/ws';
import type { Alert } from '../src/types';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : /\.tsx?$/.test(p) ? [p] : [];
  });
}

describe('i18n', () => {
  it('both languages have the same keys', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
  });
  it('every literal key used in the source exists', () => {
    const used = new Set<string>();
    for (const f of sources(join(__dirname, '../src'))) {
      for (const m of readFileSync(f, 'utf8').matchAll(/\bt\('([a-z_]+\.[a-z_.]+)'/g)) used.add(m[1]);
    }
    expect(used.size).toBeGreaterThan(100);
    expect([...used].filter((k) => !(k in zh))).toEqual([]);
  });
  it('interpolates and defaults to Chinese', () => {
    expect(translate('zh', 'guard.confirm_title')).toBe('这条内容可以发送吗？');
    expect(translate('en', 'guard.confirm_title')).toBe('Can this content be sent?');
    expect(translate('en', 'list.unread', { n: 3 })).toBe('3 unread');
    expect(translate('en', 'no.such')).toBe('no.such');
    expect(initialLang({ getItem: () => null })).toBe('zh');
    expect(initialLang({ getItem: () => 'en' })).toBe('en');
    expect(initialLang({ getItem: () => 'fr' })).toBe('zh');
  });
});

const alert = (id: number, at: number, extra: Partial<Alert> = {}): Alert => ({
  id, created_at: at, kind: 'guard', verdict: 'block', decided_by: 'classified', category: 'marking', user_id: 1,
  conversation_id: 1, message_id: null, findings: [], justification: null, status: 'open', comment: null,
  handled_by: null, handled_at: null, ...extra,
});

describe('dashboard statistics', () => {
  const now = Date.UTC(2025, 2, 10, 12);
  it('lists the last days in the time zone', () => {
    expect(lastDays(3, now, 'UTC')).toEqual(['2025-03-08', '2025-03-09', '2025-03-10']);
    expect(lastDays(2, Date.UTC(2025, 2, 10, 20), 'Asia/Shanghai')).toEqual(['2025-03-10', '2025-03-11']);
  });
  it('counts per day by key', () => {
    const days = lastDays(3, now, 'UTC');
    const a = [alert(1, now), alert(2, now - 86400000, { category: 'pii' }), alert(3, now, { kind: 'override', verdict: 'confirm' }), alert(4, now - 10 * 86400000)];
    const s = perDay(a, days, (x) => x.category ?? '', 'UTC');
    expect(s.series.marking).toEqual([0, 0, 2]);
    expect(s.series.pii).toEqual([0, 1, 0]);
    const b = perDay(a, days, actionOf, 'UTC');
    expect(b.series.override).toEqual([0, 0, 1]);
    expect(b.series.block).toEqual([0, 1, 1]);
  });
  it('top rules and overriders', () => {
    const f = (rule: string) => ({ rule, category: 'x', severity: 'h', confidence: 1, start: 0, end: 1, excerpt: '', explanation: '', action: 'block', policy_rule: null, evasion: false });
    const a = [
      alert(1, now, { findings: [f('a'), f('a'), f('b')] }),
      alert(2, now, { findings: [f('b')] }),
      alert(3, now, { findings: [], decided_by: 'c', kind: 'override', user_id: 7 }),
      alert(4, now, { kind: 'override', user_id: 7 }),
      alert(5, now, { kind: 'override', user_id: 8 }),
    ];
    expect(topRules(a)).toEqual([['b', 2], ['classified', 2], ['a', 1], ['c', 1]]);
    expect(topOverriders(a)).toEqual([[7, 2], [8, 1]]);
  });
});

class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  constructor(public url: string) { FakeSocket.all.push(this); }
  send(s: string) { this.sent.push(s); }
  close() { this.readyState = 3; }
  open() { this.readyState = 1; this.onopen?.(); this.emit({ type: 'hello', user: {}, session_id: 1, server_time: 0 }); }
  emit(o: unknown) { this.onmessage?.({ data: JSON.stringify(o) }); }
  drop(code = 1006) { this.readyState = 3; this.onclose?.({ code }); }
}

describe('live connection', () => {
  it('backs off exponentially with jitter, capped', () => {
    expect(backoffDelay(0, { base: 500, max: 15000 }, () => 0.5)).toBe(500);
    expect(backoffDelay(3, { base: 500, max: 15000 }, () => 0.5)).toBe(4000);
    expect(backoffDelay(30, { base: 500, max: 15000 }, () => 0.5)).toBe(15000);
    expect(backoffDelay(0, { base: 500, max: 15000 }, () => 0)).toBe(400);
    expect(backoffDelay(0, { base: 500, max: 15000 }, () => 1)).toBe(600);
  });
  it('reconnects after a drop and asks for a resync, not on the first connect', () => {
    vi.useFakeTimers();
    FakeSocket.all = [];
    const events: string[] = [];
    let resyncs = 0;
    let ended = 0;
    const live = new Live({
      url: 'ws://x/api/v1/ws', onEvent: (e) => events.push(e.type), onState: () => undefined,
      onResync: () => resyncs++, onSessionEnd: () => ended++,
      makeSocket: (u) => new FakeSocket(u) as unknown as WebSocket,
    });
    live.start();
    FakeSocket.all[0].open();
    expect(resyncs).toBe(0);
    FakeSocket.all[0].emit({ type: 'resync', reason: 'slow_consumer' });
    FakeSocket.all[0].drop(4002);
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.all.length).toBe(2);
    FakeSocket.all[1].open();
    expect(resyncs).toBe(1);
    expect(events).toEqual(['hello', 'resync', 'hello']);
    // revoked session: no more reconnects
    FakeSocket.all[1].emit({ type: 'session.revoked' });
    FakeSocket.all[1].drop(4001);
    vi.advanceTimersByTime(60000);
    expect(FakeSocket.all.length).toBe(2);
    expect(ended).toBe(1);
    live.stop();
    vi.useRealTimers();
  });
  it('matches replies to requests by req', async () => {
    FakeSocket.all = [];
    const live = new Live({ url: 'u', onEvent: () => undefined, onState: () => undefined, onResync: () => undefined, onSessionEnd: () => undefined, makeSocket: (u) => new FakeSocket(u) as unknown as WebSocket });
    live.start();
    const s = FakeSocket.all[0];
    s.open();
    const p = live.request({ type: 'message.send', text: 'x' });
    const req = JSON.parse(s.sent[0]).req;
    s.emit({ type: 'message.ack', req, message: { id: 1 }, guard: {}, duplicate: false });
    expect((await p).type).toBe('message.ack');
    live.stop();
  });
  it('builds the socket URL from the page', () => {
    expect(wsUrl({ protocol: 'https:', host: 'c.example:8443' })).toBe('wss://c.example:8443/api/v1/ws');
    expect(wsUrl({ protocol: 'http:', host: '127.0.0.1:5' })).toBe('ws://127.0.0.1:5/api/v1/ws');
  });
});
