// Formatting helpers: times in the user's time zone, UTF-8 byte spans from
// the guard mapped onto JavaScript strings, segments for highlighting.
import type { Finding } from './types';

export type Lang = 'zh' | 'en';

export function localeOf(lang: Lang): string {
  return lang === 'zh' ? 'zh-CN' : 'en-GB';
}

/** The browser's time zone (IANA name), or UTC when it cannot be told. */
export function userTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

function parts(ms: number, tz: string) {
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  });
  const o: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(ms))) o[p.type] = p.value;
  return { y: o.year, m: o.month, d: o.day, hh: o.hour, mm: o.minute, ss: o.second };
}

/** YYYY-MM-DD of an instant in a time zone. */
export function dayKey(ms: number, tz = userTimeZone()): string {
  const p = parts(ms, tz);
  return `${p.y}-${p.m}-${p.d}`;
}

/** Full date and time, e.g. 2025-03-01 14:05:09. */
export function formatDateTime(ms: number, tz = userTimeZone()): string {
  const p = parts(ms, tz);
  return `${p.y}-${p.m}-${p.d} ${p.hh}:${p.mm}:${p.ss}`;
}

/** Short time for message lists: HH:MM today, MM-DD HH:MM this year, else the date. */
export function formatShort(ms: number, now: number, tz = userTimeZone()): string {
  const p = parts(ms, tz);
  const n = parts(now, tz);
  if (p.y === n.y && p.m === n.m && p.d === n.d) return `${p.hh}:${p.mm}`;
  if (p.y === n.y) return `${p.m}-${p.d} ${p.hh}:${p.mm}`;
  return `${p.y}-${p.m}-${p.d}`;
}

/** UTF-8 byte offset → UTF-16 index into s (clamped; offsets inside a
 *  character map to that character's start). */
export function byteToIndex(s: string, byteOff: number): number {
  let bytes = 0;
  let i = 0;
  while (i < s.length) {
    if (bytes >= byteOff) return i;
    const cp = s.codePointAt(i)!;
    const len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + len > byteOff) return i;
    bytes += len;
    i += cp >= 0x10000 ? 2 : 1;
  }
  return s.length;
}

export function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

export interface Segment {
  text: string;
  finding: Finding | null;
}

/** Splits text into plain and flagged segments by the findings' byte spans.
 *  Overlapping spans are merged into the first finding that covers them. */
export function segmentsOf(text: string, findings: Finding[]): Segment[] {
  const spans = findings
    .filter((f) => f.end > f.start)
    .map((f) => ({ s: byteToIndex(text, f.start), e: byteToIndex(text, f.end), f }))
    .filter((x) => x.e > x.s)
    .sort((a, b) => a.s - b.s || b.e - a.e);
  const out: Segment[] = [];
  let pos = 0;
  for (const sp of spans) {
    if (sp.e <= pos) continue;
    const s = Math.max(sp.s, pos);
    if (s > pos) out.push({ text: text.slice(pos, s), finding: null });
    out.push({ text: text.slice(s, sp.e), finding: sp.f });
    pos = sp.e;
  }
  if (pos < text.length || out.length === 0) out.push({ text: text.slice(pos), finding: null });
  return out;
}

/** The matched span with up to `ctx` characters of context either side. */
export function spanInContext(text: string, f: Finding, ctx = 20): { before: string; match: string; after: string } {
  const s = byteToIndex(text, f.start);
  const e = byteToIndex(text, f.end);
  const b0 = Math.max(0, s - ctx);
  const a1 = Math.min(text.length, e + ctx);
  return {
    before: (b0 > 0 ? '…' : '') + text.slice(b0, s),
    match: text.slice(s, e),
    after: text.slice(e, a1) + (a1 < text.length ? '…' : ''),
  };
}

/** Display name of a user id given a directory map. */
export function nameOf(users: Map<number, { display_name: string; login: string }>, id: number | null | undefined): string {
  if (id === null || id === undefined) return '—';
  const u = users.get(id);
  return u ? u.display_name || u.login : `#${id}`;
}

/** One line preview of a message text. */
export function preview(text: string | null, max = 40): string {
  if (text === null) return '';
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? one.slice(0, max - 1) + '…' : one;
}
