// Showing what the guard found: findings lists, highlighted text, the
// confirm and block dialogs.
import { useState } from 'preact/hooks';
import { categoryLabel, t, verdictLabel } from '../i18n';
import { segmentsOf, spanInContext, utf8Length } from '../format';
import type { Finding, GuardOutcome } from '../types';
import { Dialog } from './Dialog';

export function FindingItem(props: { f: Finding; text?: string }) {
  const f = props.f;
  const ctx = props.text ? spanInContext(props.text, f) : null;
  return (
    <li class={`finding sev-${f.severity} act-${f.action}`} data-testid="finding">
      <div class="f-head">
        <span class={`tag act-${f.action}`}>{verdictLabel(f.action)}</span>
        <span class="tag cat">{categoryLabel(f.category)}</span>
        <code class="rule" title={t('guard.rule')}>{f.policy_rule ? `${f.policy_rule} / ${f.rule}` : f.rule}</code>
        {f.evasion && <span class="tag evasion">{t('guard.evasion')}</span>}
      </div>
      <div class="f-body">
        {ctx && f.category !== 'pii' && f.category !== 'secret' ? (
          <span class="ctx">{ctx.before}<mark>{ctx.match}</mark>{ctx.after}</span>
        ) : (
          <span class="ctx"><span class="muted">{t('guard.found')}: </span><mark>{f.excerpt}</mark></span>
        )}
      </div>
      {f.explanation && <div class="f-why"><span class="muted">{t('guard.reason')}: </span>{f.explanation}</div>}
    </li>
  );
}

export function FindingList(props: { findings: Finding[]; text?: string }) {
  if (!props.findings.length) return null;
  return <ul class="findings">{props.findings.map((f, i) => <FindingItem key={i} f={f} text={props.text} />)}</ul>;
}

/** The draft with the flagged spans marked; each mark names its reason. */
export function Highlighted(props: { text: string; findings: Finding[] }) {
  const segs = segmentsOf(props.text, props.findings);
  return (
    <div class="highlighted" data-testid="guard-highlight">
      {segs.map((s, i) => s.finding ? (
        <mark key={i} class={`act-${s.finding.action}`} title={`${categoryLabel(s.finding.category)}: ${s.finding.explanation || s.finding.rule}`}>{s.text}</mark>
      ) : <span key={i}>{s.text}</span>)}
    </div>
  );
}

export function ConfirmDialog(props: { text: string; guard: GuardOutcome; onSend: (justification: string) => Promise<void>; onCancel: () => void }) {
  const [j, setJ] = useState('');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState('');
  const ok = j.trim().length > 0 && utf8Length(j) <= 2000;
  return (
    <Dialog title={t('guard.confirm_title')} onClose={props.onCancel} testid="confirm-dialog" role="alertdialog" class="guard-dlg">
      <p>{t('guard.confirm_body')}</p>
      <Highlighted text={props.text} findings={props.guard.findings} />
      <FindingList findings={props.guard.findings} text={props.text} />
      <form onSubmit={async (e) => {
        e.preventDefault();
        if (!ok) return;
        setBusy(true);
        setErr('');
        try {
          await props.onSend(j.trim());
        } catch (x) {
          setErr(t('common.error', { msg: (x as Error).message }));
          setBusy(false);
        }
      }}>
        <label for="justification">{t('guard.justification')}</label>
        <textarea id="justification" rows={3} maxLength={2000} value={j} required autofocus data-testid="justification" onInput={(e) => setJ(e.currentTarget.value)} />
        {err && <p class="error" role="alert">{err}</p>}
        <div class="row">
          <button type="button" onClick={props.onCancel}>{t('guard.cancel')}</button>
          <button type="submit" class="primary warn" disabled={!ok || busy} data-testid="confirm-send">{t('guard.send_anyway')}</button>
        </div>
      </form>
    </Dialog>
  );
}

export function BlockDialog(props: { text: string; guard: GuardOutcome; message: string; onClose: () => void }) {
  const rule = props.guard.decided_by ?? props.message;
  return (
    <Dialog title={t('guard.block_title')} onClose={props.onClose} testid="block-dialog" role="alertdialog" class="guard-dlg">
      <p class="error" data-testid="block-rule">{t('guard.block_body', { rule })}</p>
      {props.message && props.message !== rule && <p class="muted">{props.message}</p>}
      <Highlighted text={props.text} findings={props.guard.findings} />
      <FindingList findings={props.guard.findings} text={props.text} />
      <div class="row"><button type="button" class="primary" onClick={props.onClose} autofocus>{t('guard.ok')}</button></div>
    </Dialog>
  );
}
