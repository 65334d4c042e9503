// Pure helpers of the policy and lexicon editors (unit-tested in
// web/test/editing.test.ts).

/** The line a guard message names: "policy.yaml:12: unknown action" -> 12.
 *  The server renames its temporary file to what was edited, so the number
 *  refers to the submitted text. null when the message names no line. */
export function errorLine(message: string): number | null {
  const m = /^[^\s:]+:(\d+):/.exec(message);
  if (!m) return null;
  const n = Number(m[1]);
  return n > 0 ? n : null;
}

/** Lines as the editor numbers them (an empty text is one line). */
export function lineCount(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** UTF-16 [start, end) of a 1-based line, without its line end; clamped. */
export function lineRange(text: string, line: number): [number, number] {
  let start = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) return [text.length, text.length];
    start = nl + 1;
  }
  let end = text.indexOf('\n', start);
  if (end < 0) end = text.length;
  if (end > start && text[end - 1] === '\r') end--;
  return [start, end];
}

/** The server's rule for a managed lexicon's name. */
export function lexiconNameOk(name: string): boolean {
  return /^[a-z0-9_-]{1,64}$/.test(name);
}

/** "12.3 KiB" */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
