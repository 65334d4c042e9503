import { describe, expect, it } from 'vitest';
import { errorLine, formatBytes, lexiconNameOk, lineCount, lineRange } from '../src/console/editing';

describe('policy and lexicon editing', () => {
  it('finds the line a guard message names', () => {
    expect(errorLine('policy.yaml:5: unknown action "explode"')).toBe(5);
    expect(errorLine('projects.tsv:12: unknown severity "severe" (info|low|medium|high|critical)')).toBe(12);
    expect(errorLine('/etc/cordon/policy.yaml:3: syntax error')).toBe(3);
    expect(errorLine('out of memory')).toBeNull();
    expect(errorLine('x.yaml:0: nothing')).toBeNull();
    expect(errorLine('at 12:30: no file')).toBeNull();
  });
  it('numbers lines like the editor gutter', () => {
    expect(lineCount('')).toBe(1);
    expect(lineCount('a')).toBe(1);
    expect(lineCount('a\nb\n')).toBe(3);
    expect(lineCount('a\r\nb')).toBe(2);
  });
  it('selects a line without its line end', () => {
    const t = 'version: 1\r\nname: x\nrules: []';
    expect(lineRange(t, 1)).toEqual([0, 10]);
    expect(t.slice(...lineRange(t, 2))).toBe('name: x');
    expect(t.slice(...lineRange(t, 3))).toBe('rules: []');
    expect(lineRange(t, 9)).toEqual([t.length, t.length]);
  });
  it('checks lexicon names as the server does', () => {
    expect(lexiconNameOk('projects')).toBe(true);
    expect(lexiconNameOk('a-b_9')).toBe(true);
    expect(lexiconNameOk('')).toBe(false);
    expect(lexiconNameOk('Projects')).toBe(false);
    expect(lexiconNameOk('a.tsv')).toBe(false);
    expect(lexiconNameOk('..')).toBe(false);
    expect(lexiconNameOk('x'.repeat(65))).toBe(false);
  });
  it('formats sizes', () => {
    expect(formatBytes(12)).toBe('12 B');
    expect(formatBytes(2048)).toBe('2.0 KiB');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MiB');
  });
});
