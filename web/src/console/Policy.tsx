import { useEffect, useState } from 'preact/hooks';
import type { Client } from '../client';
import { ApiError, type PolicyInForce } from '../api';
import { conversationTitle } from '../store';
import { policyRuleLabel, t, verdictLabel } from '../i18n';
import { errMsg, useStore } from '../hooks';
import type { GuardOutcome } from '../types';
import { FindingList, Highlighted } from '../components/GuardViews';
import { CodeEditor } from '../components/CodeEditor';
import { errorLine } from './editing';

/** "default · 59 patterns · 0 terms · 242 KiB · cached · 0.001 s" */
export function policyInfo(i: Record<string, unknown>): string {
  const parts: string[] = [];
  if (i.name) parts.push(String(i.name));
  if (typeof i.patterns === 'number') parts.push(t('po.i.patterns', { n: i.patterns }));
  if (typeof i.terms === 'number') parts.push(t('po.i.terms', { n: i.terms }));
  if (typeof i.db_bytes === 'number') parts.push(`${Math.round(i.db_bytes / 1024)} KiB`);
  if (i.from_cache === true) parts.push(t('po.i.cache'));
  if (typeof i.compile_seconds === 'number') parts.push(t('po.i.seconds', { s: i.compile_seconds.toFixed(3) }));
  return parts.join(' · ');
}

/** A validation/save outcome: the message, and the line an error names. */
export type EditMsg = { ok: boolean; text: string; line: number | null };

/** Turns an API failure into a message; invalid rules name their line. */
export function failure(e: unknown, invalidKey: string): EditMsg {
  if (e instanceof ApiError && (e.code === 'policy_invalid' || e.code === 'lexicon_invalid')) {
    return { ok: false, text: t(invalidKey, { msg: e.message }), line: errorLine(e.message) };
  }
  return { ok: false, text: t('common.error', { msg: errMsg(e) }), line: null };
}

export function Policy(props: { client: Client }) {
  const c = props.client;
  const [pol, setPol] = useState<PolicyInForce | null>(null);
  const [text, setText] = useState('');
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<EditMsg | null>(null);
  const load = async () => {
    try {
      const p = await c.api.policy();
      setPol(p);
      setText(p.text ?? '');
    } catch (e) {
      setMsg(failure(e, 'po.invalid'));
    }
  };
  useEffect(() => void load(), []);
  const act = async (f: () => Promise<EditMsg>) => {
    setBusy(true);
    try {
      setMsg(await f());
    } catch (e) {
      setMsg(failure(e, 'po.invalid'));
    } finally {
      setBusy(false);
    }
  };
  const reload = () => act(async () => {
    const r = await c.api.reloadPolicy();
    await load();
    setEditing(false);
    return { ok: true, text: t('po.reloaded', { info: policyInfo(r.info) }), line: null };
  });
  const validate = () => act(async () => {
    const r = await c.api.validatePolicy(text);
    return { ok: true, text: t('po.valid', { info: policyInfo(r.info) }), line: null };
  });
  const save = () => act(async () => {
    const r = await c.api.savePolicy(text);
    setEditing(false);
    await load();
    return { ok: true, text: t('po.saved', { info: policyInfo(r.info) }), line: null };
  });
  return (
    <div class="policy">
      {pol && (
        <dl class="kv">
          <dt>{t('po.name')}</dt><dd data-testid="policy-name"><code>{pol.name}</code></dd>
          <dt>{t('po.path')}</dt><dd class="mono">{pol.path ?? t('po.builtin')}</dd>
          {pol.save_path && pol.save_path !== pol.path && <><dt>{t('po.save_path')}</dt><dd class="mono">{pol.save_path}</dd></>}
        </dl>
      )}
      <div class="row">
        {!editing && <button type="button" onClick={() => { setEditing(true); setMsg(null); }} disabled={!pol} data-testid="policy-edit">{t('po.edit')}</button>}
        {editing && <button type="button" onClick={validate} disabled={busy} data-testid="policy-validate">{t('po.validate')}</button>}
        {editing && <button type="button" class="primary" onClick={save} disabled={busy} data-testid="policy-save">{t('po.save')}</button>}
        {editing && <button type="button" onClick={() => { setEditing(false); setText(pol?.text ?? ''); setMsg(null); }}>{t('guard.cancel')}</button>}
        <span class="grow" />
        <button type="button" onClick={reload} disabled={busy} data-testid="policy-reload">{t('po.reload')}</button>
      </div>
      {msg && <p class={msg.ok ? 'ok' : 'error'} role="status" data-testid="policy-msg" data-ok={String(msg.ok)}>{msg.text}</p>}
      {pol && pol.text === null && <p class="notice" data-testid="policy-no-text">{t('po.no_text')}</p>}
      {pol && pol.builtin && !editing && <p class="muted">{t('po.builtin_hint')}</p>}
      {(editing || (pol && pol.text !== null)) && (
        <CodeEditor id="policy-text" label={t('con.policy')} value={text} readOnly={!editing} errorLine={msg && !msg.ok ? msg.line : null}
          onInput={setText} testid="policy-editor" />
      )}
    </div>
  );
}

export function GuardTest(props: { client: Client }) {
  const c = props.client;
  const convs = useStore(c.conversations);
  const [text, setText] = useState('');
  const [conv, setConv] = useState('');
  const [res, setRes] = useState<{ text: string; g: GuardOutcome } | null>(null);
  const [err, setErr] = useState('');
  const run = async (e?: Event) => {
    e?.preventDefault();
    if (!text.trim()) return;
    try {
      const g = await c.api.guardCheck(text, Number(conv) || undefined);
      setRes({ text, g });
      setErr('');
    } catch (x) {
      setErr(errMsg(x));
    }
  };
  return (
    <form class="guard-test" onSubmit={run}>
      <p class="muted">{t('gt.hint')}</p>
      <label for="gt-input">{t('gt.input')}</label>
      <textarea id="gt-input" rows={8} value={text} onInput={(e) => setText(e.currentTarget.value)} data-testid="gt-input" />
      <div class="row">
        <label>{t('gt.scope')}&nbsp;
          <select value={conv} onChange={(e) => setConv(e.currentTarget.value)}>
            <option value="">{t('gt.internal')}</option>
            {convs.map((x) => <option key={x.id} value={String(x.id)}>{t('gt.external_conv')}: {conversationTitle(x, c.me, c.nameOf)}{x.external ? ` (${t('list.external')})` : ''}</option>)}
          </select>
        </label>
        <button type="submit" class="primary" data-testid="gt-run">{t('gt.run')}</button>
      </div>
      {err && <p class="error" role="alert">{t('common.error', { msg: err })}</p>}
      {res && (
        <div class={`gt-result v-${res.g.verdict}`} data-testid="gt-result" data-verdict={res.g.verdict}>
          <p><strong>{t('gt.verdict', { v: verdictLabel(res.g.verdict) })}</strong>{res.g.decided_by && <> · {t('gt.decided', { r: policyRuleLabel(res.g.decided_by) })} <code class="rule-id">{res.g.decided_by}</code></>} · <span class="muted">{t(`gt.status.${res.g.status}`)}</span></p>
          {res.g.findings.length === 0 ? <p class="muted">{t('gt.no_findings')}</p> : (
            <>
              <Highlighted text={res.text} findings={res.g.findings} />
              <FindingList findings={res.g.findings} text={res.text} />
            </>
          )}
        </div>
      )}
    </form>
  );
}
