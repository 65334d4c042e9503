import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';
import { t } from '../i18n';

let counter = 0;

/** A modal dialog: focus moves in, Tab stays inside, Escape closes, focus returns on close.
 *  Focus and the key handler are set in a layout effect, in the same task that
 *  puts the dialog on screen: with a plain effect (run a frame later) an Escape
 *  pressed as soon as the dialog shows still went to the composer, and the
 *  dialog stayed open over the page. */
export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren; class?: string; testid?: string; role?: 'dialog' | 'alertdialog' }) {
  const ref = useRef<HTMLDivElement>(null);
  const idRef = useRef(`dlg-${++counter}`);
  useLayoutEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    const el = ref.current!;
    const first = el.querySelector<HTMLElement>('[autofocus], textarea, input, select, button:not(.dlg-x)');
    (first ?? el).focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        props.onClose();
      } else if (e.key === 'Tab') {
        const f = [...el.querySelectorAll<HTMLElement>('button, [href], input, select, textarea, [tabindex]:not([tabindex="-1"])')].filter((x) => !(x as HTMLButtonElement).disabled);
        if (f.length === 0) return;
        const a = f[0];
        const z = f[f.length - 1];
        if (e.shiftKey && document.activeElement === a) {
          e.preventDefault();
          z.focus();
        } else if (!e.shiftKey && document.activeElement === z) {
          e.preventDefault();
          a.focus();
        }
      }
    };
    el.addEventListener('keydown', onKey);
    return () => {
      el.removeEventListener('keydown', onKey);
      prev?.focus?.();
    };
  }, []);
  return (
    <div class="dlg-back" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class={`dlg ${props.class ?? ''}`} role={props.role ?? 'dialog'} aria-modal="true" aria-labelledby={idRef.current} ref={ref} tabIndex={-1} data-testid={props.testid}>
        <div class="dlg-head">
          <h2 id={idRef.current}>{props.title}</h2>
          <button type="button" class="dlg-x" aria-label={t('common.close')} onClick={props.onClose}>×</button>
        </div>
        <div class="dlg-body">{props.children}</div>
      </div>
    </div>
  );
}
