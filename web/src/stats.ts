// Dashboard figures, computed in the browser from the alerts list (the
// server has no statistics endpoint): guard events per day by category and
// by action, the rules that fire most, and who overrides `confirm` most.
import type { Alert } from './types';
import { dayKey } from './format';

export interface DaySeries {
  days: string[];
  /** key (category or verdict) → count per day, aligned with days */
  series: Record<string, number[]>;
}

/** The last `n` day keys ending today, oldest first. */
export function lastDays(n: number, now: number, tz: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  // Step back in 12-hour increments so DST shifts never skip or repeat a day.
  for (let t = now; out.length < n; t -= 12 * 3600 * 1000) {
    const k = dayKey(t, tz);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(k);
    }
  }
  return out.reverse();
}

export function perDay(alerts: Alert[], days: string[], key: (a: Alert) => string, tz: string): DaySeries {
  const idx = new Map(days.map((d, i) => [d, i]));
  const series: Record<string, number[]> = {};
  for (const a of alerts) {
    const i = idx.get(dayKey(a.created_at, tz));
    if (i === undefined) continue;
    const k = key(a) || 'unknown';
    (series[k] ??= new Array(days.length).fill(0))[i]++;
  }
  return { days, series };
}

export function topN(counts: Map<string | number, number>, n: number): [string | number, number][] {
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0]))).slice(0, n);
}

/** Rules that decided alerts, and every finding's rule, counted once per alert. */
export function topRules(alerts: Alert[], n = 10): [string, number][] {
  const c = new Map<string, number>();
  for (const a of alerts) {
    const rules = new Set<string>();
    for (const f of a.findings ?? []) rules.add(f.rule);
    if (rules.size === 0 && a.decided_by) rules.add(a.decided_by);
    for (const r of rules) c.set(r, (c.get(r) ?? 0) + 1);
  }
  return topN(c, n) as [string, number][];
}

export function topOverriders(alerts: Alert[], n = 10): [number, number][] {
  const c = new Map<number, number>();
  for (const a of alerts) if (a.kind === 'override') c.set(a.user_id, (c.get(a.user_id) ?? 0) + 1);
  return topN(c, n) as [number, number][];
}

/** The action of an alert for the "by action" chart: overrides count apart from held confirms. */
export function actionOf(a: Alert): string {
  return a.kind === 'override' ? 'override' : a.verdict;
}
