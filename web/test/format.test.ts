import { describe, expect, it } from 'vitest';
import { byteToIndex, dayKey, formatDateTime, formatShort, preview, segmentsOf, spanInContext, utf8Length } from '../src/format';
import type { Finding } from '../src/types';

const f = (start: number, end: number, extra: Partial<Finding> = {}): Finding => ({
  rule: 'r', category: 'marking', severity: 'high', confidence: 'high', start, end, excerpt: '', explanation: 'why',
  action: 'block', policy_rule: 'p', evasion: false, ...extra,
});

describe('time zones', () => {
  const t = Date.UTC(2025, 0, 1, 17, 30, 5); // 2025-01-01 17:30:05 UTC
  it('formats in the given zone', () => {
    expect(formatDateTime(t, 'UTC')).toBe('2025-01-01 17:30:05');
    expect(formatDateTime(t, 'Asia/Shanghai')).toBe('2025-01-02 01:30:05');
    expect(dayKey(t, 'Asia/Shanghai')).toBe('2025-01-02');
    expect(dayKey(t, 'America/New_York')).toBe('2025-01-01');
  });
  it('short form depends on the day', () => {
    expect(formatShort(t, t + 1000, 'Asia/Shanghai')).toBe('01:30');
    expect(formatShort(t, t + 5 * 86400000, 'Asia/Shanghai')).toBe('01-02 01:30');
    expect(formatShort(t, t + 400 * 86400000, 'UTC')).toBe('2025-01-01');
  });
});

describe('UTF-8 spans', () => {
  it('maps byte offsets to string indices', () => {
    const s = 'ab绝密★c😀d';
    expect(utf8Length(s)).toBe(2 + 3 + 3 + 3 + 1 + 4 + 1);
    expect(byteToIndex(s, 0)).toBe(0);
    expect(byteToIndex(s, 2)).toBe(2);
    expect(byteToIndex(s, 5)).toBe(3);
    expect(byteToIndex(s, 11)).toBe(5); // after ★
    expect(byteToIndex(s, 12)).toBe(6); // before 😀
    expect(byteToIndex(s, 16)).toBe(8); // after the surrogate pair
    expect(byteToIndex(s, 4)).toBe(2); // inside 绝 → its start
    expect(byteToIndex(s, 999)).toBe(s.length);
  });
  it('segments the text by findings', () => {
    const s = '关于绝密★文件的通知';
    const start = utf8Length('关于');
    const end = start + utf8Length('绝密★');
    const segs = segmentsOf(s, [f(start, end)]);
    expect(segs.map((x) => [x.text, !!x.finding])).toEqual([['关于', false], ['绝密★', true], ['文件的通知', false]]);
  });
  it('merges overlaps and ignores empty spans', () => {
    const s = 'abcdefgh';
    const segs = segmentsOf(s, [f(1, 4), f(2, 6, { rule: 'b' }), f(7, 7)]);
    expect(segs.map((x) => x.text)).toEqual(['a', 'bcd', 'ef', 'gh']);
    expect(segs[2].finding?.rule).toBe('b');
    expect(segmentsOf('', [])).toEqual([{ text: '', finding: null }]);
  });
  it('gives the span in context', () => {
    const s = 'x'.repeat(30) + 'SECRET' + 'y'.repeat(30);
    const c = spanInContext(s, f(30, 36), 5);
    expect(c).toEqual({ before: '…xxxxx', match: 'SECRET', after: 'yyyyy…' });
  });
  it('previews one line', () => {
    expect(preview('a\n b   c')).toBe('a b c');
    expect(preview(null)).toBe('');
    expect(preview('x'.repeat(50), 10)).toBe('xxxxxxxxx…');
  });
});
