import { useEffect, useState } from 'preact/hooks';
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

export function errMsg(e: unknown): string {
  return (e as Error)?.message || String(e);
}
