// The trace side of the client: the server's statistics mapped onto the
// dashboard's days, and both languages having every trace word.
import { describe, expect, it } from 'vitest';
import { enTrace, zhTrace } from '../src/i18n-trace';
import { statsPerDay, statsTopRules } from '../src/stats';
import type { AlertStats } from '../src/types';

describe('statsPerDay', () => {
  it('puts each row on its local day and sums by field', () => {
    // Asia/Shanghai: UTC+8, local midnight of 2026-12-05 is 2026-12-04T16:00Z
    const d5 = Date.UTC(2026, 11, 4, 16);
    const d6 = d5 + 86400000;
    const st: AlertStats = {
      from: d5, to: d6 + 86400000, tz_offset_minutes: 480, total: 6, truncated: false,
      by_day: {}, by_category: {}, by_verdict: {}, by_rule: { 'pii-internal': 4, 'warning.spread': 1, '': 1 },
      rows: [
        { day: d5, category: 'pii', rule: 'pii-internal', verdict: 'warn', count: 3 },
        { day: d6, category: 'pii', rule: 'pii-internal', verdict: 'warn', count: 1 },
        { day: d6, category: 'warning.spread', rule: 'warning.spread', verdict: 'warn', count: 1 },
        { day: d6, category: 'marking', rule: null, verdict: 'block', count: 1 },
      ],
    };
    const days = ['2026-12-05', '2026-12-06'];
    expect(statsPerDay(st, days, 'category', 'Asia/Shanghai').series).toEqual({ pii: [3, 1], 'warning.spread': [0, 1], marking: [0, 1] });
    expect(statsPerDay(st, days, 'verdict', 'Asia/Shanghai').series).toEqual({ warn: [3, 2], block: [0, 1] });
    expect(statsTopRules(st)).toEqual([['pii-internal', 4], ['warning.spread', 1]]);
  });
});

describe('trace words', () => {
  it('has every key in both languages, and no Latin letters in the Chinese ones', () => {
    expect(Object.keys(enTrace).sort()).toEqual(Object.keys(zhTrace).sort());
    for (const [k, v] of Object.entries(zhTrace)) expect([k, /[A-Za-z]{2,}/.test(v.replace(/\{\w+\}/g, ''))]).toEqual([k, false]);
  });
});
