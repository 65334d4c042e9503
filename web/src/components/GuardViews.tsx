// Showing what the guard found: findings lists, highlighted text, the
// confirm and block dialogs.
import { useState } from 'preact/hooks';
import { categoryLabel, getLang, policyRuleLabel, reasonLabel, severityLabel, t, verdictLabel } from '../i18n';
import { findingWhere } from '../uploads';
import { segmentsOf, spanInContext, utf8Length } from '../format';
import type { Finding, GuardOutcome } from '../types';
import { Dialog } from './Dialog';
import { errMsg } from '../hooks';

/** A policy rule by its display name, the id it has in the policy file
 * second (what an officer edits and searches for). */
export function RuleName(props: { id: string | null | undefined }) {
  if (!props.id) return <span>—</span>;
  const label = policyRuleLabel(props.id);
  if (label === props.id) return <code class="rule">{props.id}</code>;
  return <span class="rule-name">{label} <code class="rule-id">{props.id}</code></span>;
}

export function FindingItem(props: { f: Finding; text?: string }) {
  const f = props.f;
  // A finding in an attached file says where in the file, not a span of the text.
  const inFile = typeof f.location === 'string';
  const ctx = props.text && !inFile ? spanInContext(props.text, f) : null;
  return (
    <li class={`finding sev-${f.severity} act-${f.action}`} data-testid="finding">
      <div class="f-head">
        <span class={`tag act-${f.action}`}>{verdictLabel(f.action)}</span>
        <span class="tag cat">{categoryLabel(f.category)}</span>
        {f.policy_rule && <RuleName id={f.policy_rule} />}
        <code class="rule" title={t('guard.rule')}>{f.rule}</code>
        <span class="muted">{t('al.severity_is', { s: severityLabel(f.severity) })}</span>
        {f.evasion && <span class="tag evasion">{t('guard.evasion')}</span>}
      </div>
      <div class="f-body">
        {inFile ? (
          <span class="ctx" data-testid="finding-where">{findingWhere({ location: f.location!, excerpt: f.excerpt, rule: f.rule }, getLang())}</span>
        ) : ctx && f.category !== 'pii' && f.category !== 'secret' ? (
          <span class="ctx">{ctx.before}<mark>{ctx.match}</mark>{ctx.after}</span>
        ) : (
          <span class="ctx"><span class="muted">{t('guard.found')}: </span><mark>{f.excerpt}</mark></span>
        )}
      </div>
      <div class="f-why"><span class="muted">{t('guard.reason')}: </span><span data-testid="finding-reason">{reasonLabel(f)}</span></div>
    </li>
  );
}

export function FindingList(props: { findings: Finding[]; text?: string }) {
  if (!props.findings.length) return null;
  return <ul class="findings">{props.findings.map((f, i) => <FindingItem key={i} f={f} text={props.text} />)}</ul>;
}

/** The draft with the flagged spans marked; each mark names its reason. */
export function Highlighted(props: { text: string; findings: Finding[] }) {
  // Findings in attached files carry spans of the file's text, not of this one.
  const segs = segmentsOf(props.text, props.findings.filter((f) => typeof f.location !== 'string'));
  return (
    <div class="highlighted" data-testid="guard-highlight">
      {segs.map((s, i) => s.finding ? (
        <mark key={i} class={`act-${s.finding.action}`} title={`${categoryLabel(s.finding.category)}: ${reasonLabel(s.finding)}`}>{s.text}</mark>
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
      {props.text && <Highlighted text={props.text} findings={props.guard.findings} />}
      <FindingList findings={props.guard.findings} text={props.text} />
      <form onSubmit={async (e) => {
        e.preventDefault();
        if (!ok) return;
        setBusy(true);
        setErr('');
        try {
          await props.onSend(j.trim());
        } catch (x) {
          setErr(t('common.error', { msg: errMsg(x) }));
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
  // The server's message is English prose for the logs; the rule is worded here.
  const rule = props.guard.decided_by;
  return (
    <Dialog title={t('guard.block_title')} onClose={props.onClose} testid="block-dialog" role="alertdialog" class="guard-dlg">
      <p class="error" data-testid="block-rule">{t('guard.block_body', { rule: policyRuleLabel(rule) || t('cat.unknown') })} {rule && <code class="rule-id">{rule}</code>}</p>
      {props.text && <Highlighted text={props.text} findings={props.guard.findings} />}
      <FindingList findings={props.guard.findings} text={props.text} />
      <div class="row"><button type="button" class="primary" onClick={props.onClose} autofocus>{t('guard.ok')}</button></div>
    </Dialog>
  );
}
