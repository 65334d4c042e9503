import { useEffect, useState } from 'preact/hooks';
import type { Client } from '../client';
import { formatDateTime } from '../format';
import { t } from '../i18n';
import { errMsg, useStore } from '../hooks';
import type { AuditCheckpoint, AuditEntry, AuditVerify } from '../types';

/* The signed checkpoints' verdict (docs/AUDIT.md, "Checkpoints"): a cut or
 * rewritten log says so; "none" is a warning, since then it could not. */
function checkpointClass(ck: AuditCheckpoint): string {
  return ck.status === 'verified' ? 'ok' : ck.status === 'none' || ck.status === 'unavailable' ? 'ck-warn' : 'error';
}

function checkpointText(ck: AuditCheckpoint): string {
  const p = { seq: String(ck.seq ?? ''), end: String(ck.log_seq ?? ''), line: String(ck.line ?? '') };
  switch (ck.status) {
    case 'verified': return `✔ ${t('au.ck_verified', p)}`;
    case 'none': return `⚠ ${t('au.ck_none')}`;
    case 'unavailable': return `⚠ ${t('au.ck_unavailable')}`;
    case 'truncated': return `✖ ${t('au.ck_truncated', p)}`;
    case 'mismatch': return `✖ ${t('au.ck_mismatch', p)}`;
    case 'bad_signature': return `✖ ${t('au.ck_bad_signature', p)}`;
    case 'other_database': return `✖ ${t('au.ck_other_database', p)}`;
    default: return `✖ ${t('au.ck_malformed', p)}`;
  }
}

export function Audit(props: { client: Client }) {
  const c = props.client;
  useStore(c.directory);
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [verify, setVerify] = useState<AuditVerify | null>(null);
  const [err, setErr] = useState('');
  const load = async (after?: number) => {
    try {
      const r = await c.api.audit(after, 200);
      setEntries((old) => (after ? [...old, ...r.entries] : r.entries));
      setNext(r.entries.length ? r.next_after : null);
    } catch (e) {
      setErr(errMsg(e));
    }
  };
  const check = async () => {
    try {
      setVerify(await c.api.auditVerify());
    } catch (e) {
      setErr(errMsg(e));
    }
  };
  useEffect(() => {
    void load();
    void check();
  }, []);
  return (
    <div class="audit">
      <div class="row">
        <button type="button" onClick={check} data-testid="audit-verify">{t('au.verify')}</button>
        {verify && (
          <span class={verify.ok ? 'ok' : 'error'} role="status" data-testid="audit-status" data-ok={String(verify.ok)}>
            {verify.ok ? `✔ ${t('au.ok', { n: verify.entries })}` : verify.first_bad !== null ? `✖ ${t('au.bad', { seq: String(verify.first_bad) })}` : '✖'}
          </span>
        )}
        {verify?.checkpoint && verify.checkpoint.status !== 'skipped' && (
          <span class={checkpointClass(verify.checkpoint)} data-testid="audit-checkpoint" data-status={verify.checkpoint.status}
            title={verify.checkpoint.message}>
            {checkpointText(verify.checkpoint)}
          </span>
        )}
        <span class="grow" />
        <button type="button" onClick={() => load()}>{t('common.refresh')}</button>
      </div>
      {err && <p class="error" role="alert">{t('common.error', { msg: err })}</p>}
      <table class="grid" data-testid="audit-table">
        <thead><tr><th>{t('au.seq')}</th><th>{t('al.time')}</th><th>{t('au.actor')}</th><th>{t('au.action')}</th><th>{t('au.target')}</th><th>{t('au.detail')}</th><th>{t('au.hash')}</th></tr></thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.seq} class={verify && verify.first_bad !== null && e.seq >= verify.first_bad ? 'bad' : ''}>
              <td>{e.seq}</td>
              <td class="nowrap">{formatDateTime(e.created_at)}</td>
              <td>{e.actor ?? (e.actor_id !== null ? c.nameOf(e.actor_id) : '—')}</td>
              <td><code>{e.action}</code></td>
              <td>{e.target ?? ''}</td>
              <td class="mono small">{e.detail === null || e.detail === undefined ? '' : typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail)}</td>
              <td class="mono small" title={e.hash}>{(e.hash ?? '').slice(0, 12)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {next !== null && <button type="button" onClick={() => load(next)}>{t('common.more')}</button>}
    </div>
  );
}
