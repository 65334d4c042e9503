// Dashboard figures: guard events per day by category and by verdict and the
// rules that fire most come from the server's statistics (GET
// /officer/stats, any period); who overrides `confirm` most is computed
// from the alerts list.
import type { Alert, AlertStats } from './types';
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

/** The server's rows per day (aligned with `days`, keys as dayKey gives
 * them) by a row field. */
export function statsPerDay(st: AlertStats, days: string[], field: 'category' | 'verdict', tz: string): DaySeries {
  const idx = new Map(days.map((d, i) => [d, i]));
  const series: Record<string, number[]> = {};
  for (const r of st.rows) {
    // the day's start is local midnight: noon of it names the day in any zone rule
    const i = idx.get(dayKey(r.day + 12 * 3600 * 1000, tz));
    if (i === undefined) continue;
    const k = r[field] || 'unknown';
    (series[k] ??= new Array(days.length).fill(0))[i] += r.count;
  }
  return { days, series };
}

/** The rules behind the most alerts of the period. */
export function statsTopRules(st: AlertStats, n = 10): [string, number][] {
  return topN(new Map(Object.entries(st.by_rule).filter(([k]) => k !== '')), n) as [string, number][];
}
