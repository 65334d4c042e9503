import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';
import { t } from './i18n';
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

/** An error for people: the server's code worded in the interface language
 * (err.<code>.<field>, then err.<code>), else the server's message. */
export function errMsg(e: unknown): string {
  if (e instanceof ApiError) {
    const d = e.detail ?? {};
    const params = { max: String(d.max ?? ''), rule: e.guard?.decided_by ?? '', s: e.retryAfter ?? 1 };
    for (const k of d.field ? [`err.${e.code}.${d.field}`, `err.${e.code}`] : [`err.${e.code}`]) {
      const s = t(k, params);
      if (s !== k) return s;
    }
  }
  return (e as Error)?.message || String(e);
}
