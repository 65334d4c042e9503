import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';
import { policyRuleLabel, t } from './i18n';
import type { Store } from './store';

export function useStore<T>(s: Store<T>): T {
  const [v, setV] = useState(s.get());
  useEffect(() => {
    setV(s.get());
    return s.subscribe(setV);
  }, [s]);
  return v;
}

/** The current hash route split into parts: #/chat/12 → ['chat', '12']. */
export function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [r, setR] = useState(read());
  useEffect(() => {
    const on = () => setR(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return r;
}

export function go(path: string): void {
  if (location.hash !== '#' + path) location.hash = path;
}

/** About how many Chinese characters fit in a byte limit (3 bytes each in
 * UTF-8), rounded down to hundreds: what a writer can count. */
export function hanziFor(bytes: number): number {
  const n = Math.floor(bytes / 3);
  return n >= 1000 ? Math.floor(n / 100) * 100 : n;
}

/** An error for people: the server's code worded in the interface language
 * (err.<code>.<field>, then err.<code>; a refused password by its reason
 * code, err.password.<reason>), else the server's message. */
export function errMsg(e: unknown): string {
  if (e instanceof ApiError) {
    const d = e.detail ?? {};
    const params = { name: d.name ?? '', max: String(d.max ?? ''), chars: d.max ? String(hanziFor(d.max)) : '', rule: e.guard?.decided_by ? policyRuleLabel(e.guard.decided_by) : '', s: e.retryAfter ?? 1 };
    const keys = [...(d.reason ? [`err.password.${d.reason}`, `err.${e.code}.${d.reason}`] : []), ...(d.field ? [`err.${e.code}.${d.field}`] : []), `err.${e.code}`];
    for (const k of keys) {
      const s = t(k, params);
      if (s !== k) return s;
    }
  }
  return (e as Error)?.message || String(e);
}

/** An error code without an ApiError (a refused upload): err.<code>, else a generic wording. */
export function codeMsg(code: string | null | undefined): string {
  const k = `err.${code ?? 'upload_failed'}`;
  const s = t(k);
  return s === k ? t('err.upload_failed') : s;
}
