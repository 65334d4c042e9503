import { useEffect, useRef } from 'preact/hooks';
import { lineCount, lineRange } from '../console/editing';

/** Line height of the editor in px; styles.css (.code-editor) uses the same. */
const LINE = 20;

/**
 * A textarea with a line-number gutter for policy and lexicon files. Lines do
 * not wrap, so gutter numbers stay aligned with the text. `errorLine` marks a
 * line in the gutter and selects it in the text (the line a validation
 * named).
 */
export function CodeEditor(props: {
  id: string;
  label: string;
  value: string;
  readOnly?: boolean;
  errorLine?: number | null;
  onInput?: (v: string) => void;
  testid?: string;
}) {
  const ta = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const n = lineCount(props.value);
  const err = props.errorLine && props.errorLine <= n ? props.errorLine : null;
  const sync = () => {
    if (ta.current && gutter.current) gutter.current.scrollTop = ta.current.scrollTop;
  };
  useEffect(() => {
    const el = ta.current;
    if (!err || !el) return;
    const [s, e] = lineRange(el.value, err);
    el.focus();
    el.setSelectionRange(s, e);
    el.scrollTop = Math.max(0, (err - 4) * LINE);
    sync();
  }, [err]);
  let nums = '';
  for (let i = 1; i <= n; i++) nums += i === n ? `${i}` : `${i}\n`;
  return (
    <div class="code-editor" data-testid={props.testid} data-error-line={err ?? undefined}>
      <div class="gutter" ref={gutter} aria-hidden="true">
        <div class="gutter-in">
          {err && <div class="err-band" style={{ top: `${(err - 1) * LINE}px` }} data-testid="error-line">{err}</div>}
          <pre>{nums}</pre>
        </div>
      </div>
      <label for={props.id} class="sr-only">{props.label}</label>
      <textarea id={props.id} ref={ta} wrap="off" spellcheck={false} readOnly={props.readOnly} value={props.value}
        class={props.readOnly ? 'ro' : ''}
        onInput={(e) => props.onInput?.(e.currentTarget.value)} onScroll={sync} data-testid={props.testid ? `${props.testid}-text` : undefined} />
    </div>
  );
}
