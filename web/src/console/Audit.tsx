import { useEffect, useState } from 'preact/hooks';
import type { Client } from '../client';
import { formatDateTime } from '../format';
import { auditEventLabel, categoryLabel, getLang, policyRuleLabel, t, verdictLabel } from '../i18n';
import { errMsg, useStore } from '../hooks';
import type { AuditCheckpoint, AuditEntry, AuditVerify } from '../types';
import { convName } from './names';

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

const PAGE = 200;

function dateMs(s: string, endOfDay = false): number | undefined {
  if (!s) return undefined;
  const [y, m, d] = s.split('-').map(Number);
  const ms = new Date(y, m - 1, d).getTime(); // local midnight: the user's time zone
  return endOfDay ? ms + 86400000 : ms;
}

/** One detail value in words: ids as names, codes as their labels. */
function detailValue(c: Client, k: string, v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return v ? t('common.yes') : t('common.no');
  if (k === 'user_id' && typeof v === 'number') return c.nameOf(v);
  if ((k === 'conversation' || k === 'conversation_id') && typeof v === 'number') return convName(c, v);
  if (k === 'members' && Array.isArray(v)) return v.map((x) => (typeof x === 'number' ? c.nameOf(x) : String(x))).join('、');
  if (k === 'rule' && typeof v === 'string') return policyRuleLabel(v);
  if (k === 'verdict' && typeof v === 'string') return verdictLabel(v);
  if (k === 'category' && typeof v === 'string') return categoryLabel(v);
  if (k === 'role' && typeof v === 'string') return t(`urole.${v}`) !== `urole.${v}` ? t(`urole.${v}`) : t(`role.${v}`);
  if ((k === 'reason' || k === 'kind') && typeof v === 'string') {
    const key = `au.v.${k}.${v}`;
    return t(key) !== key ? t(key) : v;
  }
  // file.delivered_unmarked: why the original or the preview carries no watermark
  if ((k === 'original' || k === 'preview') && typeof v === 'string') {
    const key = `au.v.unmarked.${v}`;
    return t(key) !== key ? t(key) : t('cat.unknown');
  }
  if (k === 'until' && typeof v === 'number') return formatDateTime(v);
  if (k === 'sha256' && typeof v === 'string') return v.slice(0, 12);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function keyLabel(k: string): string {
  const key = `au.k.${k}`;
  const s = t(key);
  return s === key ? k : s;
}

export function AuditDetail(props: { client: Client; detail: unknown }) {
  const d = props.detail;
  if (d === null || d === undefined || d === '') return null;
  if (typeof d !== 'object' || Array.isArray(d)) return <span>{String(d)}</span>;
  return (
    <span class={`au-detail ${getLang()}`}>
      {Object.entries(d as Record<string, unknown>).map(([k, v]) => (
        <span key={k}><span class="muted">{t('au.kv', { k: keyLabel(k) })}</span>{k === 'alert' && typeof v === 'number'
          ? <a href={`#/console/alerts/${v}`}>{t('au.t.alert', { id: v })}</a> : detailValue(props.client, k, v)}</span>
      ))}
    </span>
  );
}

/** The target "kind:id" in words, linked where the console can open it. */
export function AuditTarget(props: { client: Client; target: string | null }) {
  const c = props.client;
  const tg = props.target ?? '';
  const m = /^(user|conversation|message|alert|session|policy|file):(.*)$/.exec(tg);
  if (!m) return <span>{tg}</span>;
  const [, kind, rest] = m;
  const id = Number(rest);
  if (kind === 'user' && id) return <a href={`#/console/alerts/user/${id}`}>{t('au.t.user', { name: c.nameOf(id) })}</a>;
  if (kind === 'conversation' && id) return <a href={`#/console/alerts/conv/${id}`}>{convName(c, id)}</a>;
  if (kind === 'alert' && id) return <a href={`#/console/alerts/${id}`}>{t('au.t.alert', { id })}</a>;
  return <span>{t(`au.t.${kind}`, { id: rest })}</span>;
}

export function Audit(props: { client: Client; route?: string[] }) {
  const c = props.client;
  useStore(c.directory);
  const routeActor = props.route?.[2] === 'actor' && Number(props.route[3]) ? props.route[3] : '';
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [verify, setVerify] = useState<AuditVerify | null>(null);
  const [err, setErr] = useState('');
  const [f, setF] = useState({ actor: routeActor, event: '', since: '', until: '' });
  useEffect(() => setF((x) => ({ ...x, actor: routeActor })), [routeActor]);
  // The server pages oldest first (after=seq); the log is read from its
  // end backwards so the newest entries come first.
  const oldest = entries.length ? entries[entries.length - 1].seq : null;
  const loadBefore = async (end: number) => {
    const after = Math.max(0, end - PAGE);
    const r = await c.api.audit(after, Math.min(PAGE, end - after) || 1);
    return r.entries.filter((e) => e.seq <= end).sort((a, b) => b.seq - a.seq);
  };
  const load = async () => {
    try {
      const v = await c.api.auditVerify();
      setVerify(v);
      setEntries(v.entries > 0 ? await loadBefore(v.entries) : []);
      setErr('');
    } catch (e) {
      setErr(errMsg(e));
    }
  };
  const more = async () => {
    if (!oldest || oldest <= 1) return;
    try {
      const older = await loadBefore(oldest - 1);
      setEntries((l) => [...l, ...older.filter((e) => e.seq < (l.length ? l[l.length - 1].seq : Infinity))]);
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
  useEffect(() => void load(), []);
  const since = dateMs(f.since), until = dateMs(f.until, true);
  const shown = entries.filter((e) => (!f.actor || (f.actor === 'system' ? e.actor_id === null || e.actor_id === 0 : e.actor_id === Number(f.actor)))
    && (!f.event || e.action === f.event) && (since === undefined || e.created_at >= since) && (until === undefined || e.created_at < until));
  const events = [...new Set(entries.map((e) => e.action))].sort();
  const people = [...c.directory.get().values()].sort((x, y) => (x.display_name || x.login).localeCompare(y.display_name || y.login, 'zh-CN'));
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
          <span class={checkpointClass(verify.checkpoint)} data-testid="audit-checkpoint" data-status={verify.checkpoint.status}>
            {checkpointText(verify.checkpoint)}
          </span>
        )}
        <span class="grow" />
        <button type="button" onClick={() => load()}>{t('common.refresh')}</button>
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label={t('common.apply')}>
        <label>{t('au.filter_actor')}
          <select value={f.actor} onChange={(e) => setF({ ...f, actor: e.currentTarget.value })} data-testid="au-actor">
            <option value="">{t('au.any_actor')}</option>
            <option value="system">{t('au.system')}</option>
            {people.map((u) => <option key={u.id} value={String(u.id)}>{u.display_name && u.display_name !== u.login ? `${u.display_name}（${u.login}）` : u.login}</option>)}
          </select>
        </label>
        <label>{t('au.filter_event')}
          <select value={f.event} onChange={(e) => setF({ ...f, event: e.currentTarget.value })} data-testid="au-event">
            <option value="">{t('au.any_event')}</option>
            {events.map((ev) => <option key={ev} value={ev}>{auditEventLabel(ev)}</option>)}
          </select>
        </label>
        <label>{t('al.since')}<input type="date" value={f.since} onInput={(e) => setF({ ...f, since: e.currentTarget.value })} /></label>
        <label>{t('al.until')}<input type="date" value={f.until} onInput={(e) => setF({ ...f, until: e.currentTarget.value })} /></label>
        <span class="muted small" data-testid="au-count">{t('au.order')} · {t('au.shown', { n: entries.length, m: shown.length })}</span>
      </form>
      {err && <p class="error" role="alert">{t('common.error', { msg: err })}</p>}
      <table class="grid" data-testid="audit-table">
        <thead><tr><th>{t('au.seq')}</th><th>{t('al.time')}</th><th>{t('au.actor')}</th><th>{t('au.action')}</th><th>{t('au.target')}</th><th>{t('au.detail')}</th><th>{t('au.hash')}</th></tr></thead>
        <tbody>
          {shown.map((e) => (
            <tr key={e.seq} class={verify && verify.first_bad !== null && e.seq >= verify.first_bad ? 'bad' : ''} data-testid="audit-row" data-event={e.action}>
              <td>{e.seq}</td>
              <td class="nowrap">{formatDateTime(e.created_at)}</td>
              <td>{e.actor_id ? c.nameOf(e.actor_id) : e.actor && e.actor !== 'system' ? e.actor : t('au.system')}</td>
              <td title={e.action}>{auditEventLabel(e.action)}</td>
              <td><AuditTarget client={c} target={e.target} /></td>
              <td class="small"><AuditDetail client={c} detail={e.detail} /></td>
              <td class="mono small nowrap" title={e.hash}>{(e.hash ?? '').slice(0, 8)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {oldest !== null && oldest > 1 && <button type="button" onClick={more} data-testid="audit-more">{t('au.more')}</button>}
    </div>
  );
}
