// 识别文字 (text recognition): the action on a picture — in the image viewer,
// or on a photo attached to the draft just for this — and the sheet that
// shows what the server's OCR read. The text is the caller's only; when
// the guard keeps it inside the app (a marked document), the sheet shows it
// but offers no copy, and the browser's copy and context menu are refused.
import { useLayoutEffect, useState } from 'preact/hooks';
import type { Client } from '../client';
import { t } from '../i18n';
import { errMsg } from '../hooks';
import type { OcrResult } from '../types';

type State = { kind: 'idle' } | { kind: 'busy' } | { kind: 'done'; r: OcrResult } | { kind: 'error'; msg: string };

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // no clipboard permission (an older browser): select and copy
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    return ok;
  }
}

/** The sheet over the picture (a bottom sheet on a phone). Escape closes it first. */
function OcrSheet(props: { state: State; name: string; onClose: () => void }) {
  const [copied, setCopied] = useState(false);
  const s = props.state;
  // A layout effect, as Dialog's: Escape closes the sheet from the moment it shows.
  useLayoutEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopImmediatePropagation();
        props.onClose();
      }
    };
    addEventListener('keydown', onKey, true);
    return () => removeEventListener('keydown', onKey, true);
  }, []);
  const kept = s.kind === 'done' && s.r.kept_in_chat;
  const guardBlock = (e: Event) => kept && e.preventDefault();
  return (
    <div
      class="ocr-sheet"
      role="dialog"
      aria-modal="true"
      aria-label={t('ocr.title')}
      data-testid="ocr-sheet"
      onClick={(e) => e.stopPropagation()}
      onTouchStart={(e) => e.stopPropagation()}
      onTouchEnd={(e) => e.stopPropagation()}
    >
      <div class="ocr-head">
        <strong>{t('ocr.title')}</strong>
        <span class="muted small ocr-name" title={props.name}>{props.name}</span>
        <button type="button" class="viewer-x" onClick={props.onClose} aria-label={t('common.close')} data-testid="ocr-close">×</button>
      </div>
      {s.kind === 'busy' && <p class="muted" aria-live="polite" data-testid="ocr-busy">{t('ocr.busy')}</p>}
      {s.kind === 'error' && <p class="error" role="alert" data-testid="ocr-error">{s.msg}</p>}
      {s.kind === 'done' && (
        <>
          {kept && <p class="warn-text ocr-kept" data-testid="ocr-kept">{t('ocr.kept')}</p>}
          {s.r.text.trim()
            ? <div class={`ocr-text ${kept ? 'kept' : ''}`} data-testid="ocr-text" tabIndex={0} onCopy={guardBlock} onCut={guardBlock} onContextMenu={guardBlock} onDragStart={guardBlock}>{s.r.text.trim()}</div>
            : <p class="muted" data-testid="ocr-empty">{t('ocr.empty')}</p>}
          {s.r.truncated && <p class="muted small">{t('ocr.truncated')}</p>}
          {s.r.status !== 'scanned' && <p class="muted small">{t('ocr.partial')}</p>}
          <div class="ocr-actions">
            {!kept && s.r.text.trim() && (
              <button type="button" class="primary" data-testid="ocr-copy" onClick={async () => setCopied(await copyText(s.r.text.trim()))}>
                {copied ? t('ocr.copied') : t('ocr.copy')}
              </button>
            )}
            <button type="button" onClick={props.onClose}>{t('common.close')}</button>
          </div>
        </>
      )}
    </div>
  );
}

/** The 识别文字 button and, once pressed, its sheet. */
export function OcrAction(props: { client: Client; fileId: string; name: string; class?: string }) {
  const [state, setState] = useState<State>({ kind: 'idle' });
  const run = async () => {
    setState({ kind: 'busy' });
    try {
      setState({ kind: 'done', r: await props.client.api.ocr(props.fileId) });
    } catch (e) {
      setState({ kind: 'error', msg: errMsg(e) });
    }
  };
  return (
    <>
      <button type="button" class={props.class ?? 'button'} onClick={run} disabled={state.kind === 'busy'} data-testid="ocr-btn">{t('ocr.action')}</button>
      {state.kind !== 'idle' && <OcrSheet state={state} name={props.name} onClose={() => setState({ kind: 'idle' })} />}
    </>
  );
}
