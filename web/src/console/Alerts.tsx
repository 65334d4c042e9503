import { useEffect, useRef, useState } from 'preact/hooks';
import type { Client } from '../client';
import type { AlertFilter } from '../api';
import { formatDateTime } from '../format';
import { categoryLabel, getLang, reasonLabel, severityLabel, t, verdictLabel } from '../i18n';
import { errMsg, go, useStore } from '../hooks';
import type { Alert, FileText, Finding, OfficerContext } from '../types';
import { fileKind, formatBytes, locationLabel } from '../uploads';
import { RuleName } from '../components/GuardViews';
import { convName, rememberConversations, UserLink } from './names';

const CATS = ['marking', 'lexicon', 'pii', 'secret', 'link', 'uninspectable', 'guard.probing', 'report', 'warning.spread', 'warning.attempts', 'warning.external', 'warning.bulk_personal'];

/** The verdict column: a report, an override, or the guard's verdict. */
function kindLabel(a: Alert): string {
  if (a.kind === 'report') return t('al.kind.report');
  return a.kind === 'override' ? verdictLabel('override') : verdictLabel(a.verdict);
}

function matches(a: Alert, f: AlertFilter): boolean {
  if (f.status && a.status !== f.status) return false;
  if (f.category && a.category !== f.category) return false;
  if (f.user_id && a.user_id !== f.user_id) return false;
  if (f.conversation_id && a.conversation_id !== f.conversation_id) return false;
  if (f.since && a.created_at < f.since) return false;
  if (f.until && a.created_at >= f.until) return false;
  return true;
}

function dateMs(s: string, endOfDay = false): number | undefined {
  if (!s) return undefined;
  const [y, m, d] = s.split('-').map(Number);
  const ms = new Date(y, m - 1, d).getTime(); // local midnight: the user's time zone
  return endOfDay ? ms + 86400000 : ms;
}

/** The alerts tab's route: #/console/alerts[/<alert id>] or
 * #/console/alerts/user/<id> and /conv/<id> (what the links in the detail
 * open: that sender's or conversation's alerts). */
export function alertRoute(route: string[]): { selected: number | null; user?: number; conv?: number } {
  const [, , a, b] = route;
  if (a === 'user' && Number(b)) return { selected: null, user: Number(b) };
  if (a === 'conv' && Number(b)) return { selected: null, conv: Number(b) };
  return { selected: a && Number(a) ? Number(a) : null };
}

export function Alerts(props: { client: Client; route: string[] }) {
  const c = props.client;
  useStore(c.directory);
  useStore(c.conversations);
  const rt = alertRoute(props.route);
  const [form, setForm] = useState({ status: '', category: '', user: rt.user ? String(rt.user) : '', conv: rt.conv ? String(rt.conv) : '', since: '', until: '' });
  const [filter, setFilter] = useState<AlertFilter>({ user_id: rt.user, conversation_id: rt.conv });
  useEffect(() => {
    if (rt.user === undefined && rt.conv === undefined) return;
    setForm((f) => ({ ...f, user: rt.user ? String(rt.user) : '', conv: rt.conv ? String(rt.conv) : '' }));
    setFilter((f) => ({ ...f, user_id: rt.user, conversation_id: rt.conv }));
  }, [rt.user, rt.conv]);
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [err, setErr] = useState('');
  const [fresh, setFresh] = useState<Set<number>>(new Set());
  const filterRef = useRef(filter);
  filterRef.current = filter;

  const load = async (f: AlertFilter, before?: number) => {
    try {
      const r = await c.api.alerts({ ...f, before, limit: 50 });
      rememberConversations(r.alerts);
      setAlerts((old) => (before ? [...old, ...r.alerts] : r.alerts));
      setNext(r.next_before);
      setErr('');
    } catch (e) {
      setErr(errMsg(e));
    }
  };
  useEffect(() => void load(filter), [filter]);
  useEffect(() => {
    const on = (a: Alert, isNew: boolean) => {
      if (!matches(a, filterRef.current)) {
        if (!isNew) setAlerts((l) => l.filter((x) => x.id !== a.id || matches(a, filterRef.current)));
        return;
      }
      setAlerts((l) => (l.some((x) => x.id === a.id) ? l.map((x) => (x.id === a.id ? a : x)) : [a, ...l]));
      if (isNew) setFresh((s) => new Set(s).add(a.id));
    };
    c.alertListeners.add(on);
    // a bus gap may have hidden alert.new/alert.updated: read the list again
    const resync = () => void load(filterRef.current);
    c.syncListeners.add(resync);
    return () => {
      c.alertListeners.delete(on);
      c.syncListeners.delete(resync);
    };
  }, []);

  const apply = (e: Event) => {
    e.preventDefault();
    setFilter({
      status: form.status || undefined,
      category: form.category || undefined,
      user_id: Number(form.user) || undefined,
      conversation_id: Number(form.conv) || undefined,
      since: dateMs(form.since),
      until: dateMs(form.until, true),
    });
  };
  // An alert opened by its address but not in the loaded page (filtered out,
  // older): fetched on its own.
  const [lone, setLone] = useState<Alert | null>(null);
  useEffect(() => {
    if (!rt.selected || alerts.some((a) => a.id === rt.selected)) return;
    c.api.alert(rt.selected).then((a) => { rememberConversations([a]); setLone(a); }).catch((e) => setErr(errMsg(e)));
  }, [rt.selected]);
  const sel = alerts.find((a) => a.id === rt.selected) ?? (lone && lone.id === rt.selected ? lone : null);
  const people = [...c.directory.get().values()].sort((x, y) => (x.display_name || x.login).localeCompare(y.display_name || y.login, 'zh-CN'));
  // The conversations an officer can pick: those of the loaded alerts, then
  // the ones the officer is in.
  const convIds = [...new Set([...alerts.map((a) => a.conversation_id).filter((x): x is number => x !== null), ...c.conversations.get().map((x) => x.id), ...(filter.conversation_id ? [filter.conversation_id] : [])])];
  const upd = (a: Alert) => {
    setAlerts((l) => l.map((x) => (x.id === a.id ? a : x)));
    if (lone && lone.id === a.id) setLone(a);
  };

  return (
    <div class={`alerts ${sel ? 'has-sel' : ''}`}>
      <form class="filters" onSubmit={apply} aria-label={t('common.apply')}>
        <label>{t('al.status')}
          <select value={form.status} onChange={(e) => setForm({ ...form, status: e.currentTarget.value })} data-testid="f-status">
            <option value="">{t('common.all')}</option>
            {['open', 'acked', 'resolved'].map((s) => <option key={s} value={s}>{t(`al.status.${s}`)}</option>)}
          </select>
        </label>
        <label>{t('al.category')}
          <select value={form.category} onChange={(e) => setForm({ ...form, category: e.currentTarget.value })}>
            <option value="">{t('common.all')}</option>
            {CATS.map((s) => <option key={s} value={s}>{categoryLabel(s)}</option>)}
          </select>
        </label>
        <label>{t('al.user')}
          <select value={form.user} onChange={(e) => setForm({ ...form, user: e.currentTarget.value })} data-testid="f-user">
            <option value="">{t('al.sender_any')}</option>
            {people.map((u) => <option key={u.id} value={String(u.id)}>{u.display_name && u.display_name !== u.login ? `${u.display_name}（${u.login}）` : u.login}</option>)}
          </select>
        </label>
        <label>{t('al.conversation')}
          <select value={form.conv} onChange={(e) => setForm({ ...form, conv: e.currentTarget.value })} data-testid="f-conv">
            <option value="">{t('common.all')}</option>
            {convIds.map((id) => <option key={id} value={String(id)}>{convName(c, id)}</option>)}
          </select>
        </label>
        <label>{t('al.since')}<input type="date" value={form.since} onInput={(e) => setForm({ ...form, since: e.currentTarget.value })} /></label>
        <label>{t('al.until')}<input type="date" value={form.until} onInput={(e) => setForm({ ...form, until: e.currentTarget.value })} /></label>
        <button type="submit">{t('common.apply')}</button>
        <span class="live-dot" title={t('al.live')}>● {t('al.live')}</span>
      </form>
      {err && <p class="error" role="alert">{t('common.error', { msg: err })}</p>}
      <div class="split">
        <div class="al-list" data-testid="alerts-list">
          <table class="grid" data-testid="alerts-table">
            <thead><tr><th>{t('al.time')}</th><th>{t('al.verdict')}</th><th>{t('al.category')}</th><th>{t('al.user')}</th><th>{t('al.conversation')}</th><th>{t('al.status')}</th></tr></thead>
            <tbody>
              {alerts.length === 0 && <tr><td colSpan={6} class="muted">{t('al.empty')}</td></tr>}
              {alerts.map((a) => (
                <tr key={a.id} class={`${a.id === rt.selected ? 'sel' : ''} ${fresh.has(a.id) ? 'fresh' : ''} st-${a.status}`} data-testid="alert-row" data-alert-id={a.id} tabIndex={0}
                  onClick={() => go(`/console/alerts/${a.id}`)} onKeyDown={(e) => e.key === 'Enter' && go(`/console/alerts/${a.id}`)}>
                  <td class="nowrap">{formatDateTime(a.created_at)}</td>
                  <td><span class={`tag act-${a.kind === 'override' || a.kind === 'report' ? a.kind : a.verdict}`} data-testid="alert-kind">{kindLabel(a)}</span></td>
                  <td>{categoryLabel(a.category)}{a.forward && a.forward.depth > 0 && <span class="tag fwd-hop" data-testid="alert-hop" title={t('al.forward')}>{t('sp.hop', { n: a.forward.depth })}</span>}</td>
                  <td>{c.nameOf(a.user_id)}</td>
                  <td>{a.conversation_id !== null ? convName(c, a.conversation_id, a) : '—'}</td>
                  <td>{t(`al.status.${a.status}`)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {next !== null && <button type="button" onClick={() => load(filter, next)}>{t('common.more')}</button>}
        </div>
        <div class="al-detail">
          {sel && <a class="back al-back" href="#/console/alerts" data-testid="alert-back">← {t('al.back')}</a>}
          {sel ? <AlertDetail key={sel.id} client={c} alert={sel} onChange={upd} /> : <p class="muted pad">{t('al.select')}</p>}
        </div>
      </div>
    </div>
  );
}

function FindingRow(props: { f: Finding & { context_before?: string; context_after?: string } }) {
  const f = props.f;
  return (
    <li class="finding" data-testid="alert-finding">
      <div class="f-head">
        <span class={`tag act-${f.action}`}>{verdictLabel(f.action)}</span>
        <span class="tag cat">{categoryLabel(f.category)}</span>
        {f.policy_rule && <RuleName id={f.policy_rule} />}
        <code class="rule">{f.rule}</code>
        <span class="muted">{t('al.severity_is', { s: severityLabel(f.severity) })} · {t('al.confidence', { n: String(f.confidence) })}</span>
        {f.evasion && <span class="tag evasion">{t('guard.evasion')}</span>}
      </div>
      <div class="f-body"><span class="muted">{t('al.context')}: </span><span class="ctx">{f.context_before ?? ''}<mark>{f.excerpt}</mark>{f.context_after ?? ''}</span></div>
      <div class="f-why"><span class="muted">{t('guard.reason')}: </span><span data-testid="finding-reason">{reasonLabel(f)}</span></div>
    </li>
  );
}

/** The files an alert's findings name (a file alert, or a file inside a
 * message's alert): each can be traced and contained by itself. */
function alertFiles(a: Alert): { id: string; name: string }[] {
  const out: { id: string; name: string }[] = [];
  for (const f of a.findings as (Finding & { file?: { id: string; name: string }; file_id?: string })[]) {
    if (f.file?.id && !out.some((x) => x.id === f.file!.id)) out.push({ id: f.file.id, name: f.file.name });
    // a warning about a file spreading fast names it by id only
    else if (typeof f.file_id === 'string' && !out.some((x) => x.id === f.file_id)) out.push({ id: f.file_id, name: '' });
  }
  return out;
}

/** The messages an early-warning alert names as its evidence
 * (warning.bulk_personal). */
function evidenceIds(a: Alert): number[] {
  const ids = (a.findings[0] as Finding & { evidence_message_ids?: number[] } | undefined)?.evidence_message_ids;
  return Array.isArray(ids) ? ids.slice(0, 50) : [];
}

function AlertDetail(props: { client: Client; alert: Alert; onChange: (a: Alert) => void }) {
  const c = props.client;
  const a = props.alert;
  const [comment, setComment] = useState('');
  const [err, setErr] = useState('');
  // A live alert (pushed) does not name its conversation; the alert as
  // GET /alerts/{id} gives it does.
  useEffect(() => {
    if (a.conversation_id === null || a.conversation) return;
    c.api.alert(a.id).then((x) => { rememberConversations([x]); props.onChange(x); }).catch(() => undefined);
  }, [a.id]);
  const act = async (kind: 'ack' | 'resolve') => {
    setErr('');
    if (kind === 'resolve' && !comment.trim()) return setErr(t('al.comment_required'));
    try {
      const r = kind === 'ack' ? await c.api.ackAlert(a.id, comment.trim() || undefined) : await c.api.resolveAlert(a.id, comment.trim());
      props.onChange(r);
      setComment('');
    } catch (e) {
      setErr(errMsg(e));
    }
  };
  return (
    <article class="card" data-testid="alert-detail" aria-label={t('al.detail')}>
      <h2>{t('al.detail')} <span class="muted small">{a.id}</span></h2>
      <dl class="kv">
        <dt>{t('al.time')}</dt><dd>{formatDateTime(a.created_at)}</dd>
        <dt>{t('al.verdict')}</dt><dd>{kindLabel(a)}</dd>
        {a.kind === 'report' && <>
          <dt>{t('al.reporter')}</dt><dd data-testid="alert-reporter">{a.reporter_id ? <UserLink client={c} id={a.reporter_id} /> : '—'}</dd>
          <dt>{t('al.note')}</dt><dd data-testid="alert-note" class="evidence">{a.note ?? '—'}</dd>
          <dt>{t('al.evidence')}</dt><dd data-testid="alert-evidence" class="evidence">{a.evidence?.message
            ? <><span class="muted">{c.nameOf(a.evidence.message.sender_id)} · {formatDateTime(a.evidence.message.created_at)}：</span>{a.evidence.message.text ?? ''}</>
            : <span class="muted">{t('al.evidence_none')}</span>}</dd>
        </>}
        <dt>{t('al.rule')}</dt><dd data-testid="alert-rule"><RuleName id={a.decided_by} /></dd>
        <dt>{t('al.category')}</dt><dd data-testid="alert-category">{categoryLabel(a.category)}</dd>
        <dt>{a.kind === 'report' ? t('al.reported_user') : t('al.user')}</dt><dd data-testid="alert-sender"><UserLink client={c} id={a.user_id} /></dd>
        <dt>{t('al.conversation')}</dt><dd data-testid="alert-conversation">{a.conversation_id !== null ? (
          <a href={`#/console/alerts/conv/${a.conversation_id}`} title={t('al.filter_conv')}>{convName(c, a.conversation_id, a)}</a>
        ) : '—'}{a.conversation?.external && <span class="tag ext">{t('al.external_conv')}</span>}</dd>
        <dt>{t('al.message')}</dt><dd data-testid="alert-message">{a.message_id === null ? <span class="muted">{t('al.msg_none')}</span>
          : a.conversation_id !== null && c.conversations.get().some((x) => x.id === a.conversation_id)
            ? <a href={`#/chat/${a.conversation_id}`}>{t('al.msg_link', { id: a.message_id })}</a>
            : <span class="muted">{t('al.msg_id', { id: a.message_id })}</span>}</dd>
        {a.forward && <><dt>{t('al.forward')}</dt><dd data-testid="alert-forward">
          {a.forward.depth === 0 ? t('al.forward_origin') : t('al.forward_hop', { n: a.forward.depth, id: a.forward.root_message_id, name: c.nameOf(a.forward.root_sender_id) })}
          {' '}<a href={`#/console/spread/${a.message_id}/${a.id}`} data-testid="alert-spread">{t('sp.open')}</a>
        </dd></>}
        {alertFiles(a).length > 0 && <><dt>{t('al.files')}</dt><dd data-testid="alert-files">
          {alertFiles(a).map((f) => (
            <span key={f.id} class="al-file">{f.name || t('al.file_unnamed')}{' '}<a href={`#/console/spread-file/${f.id}/${a.id}`} data-testid="alert-file-spread">{t('sp.open_file')}</a></span>
          ))}
        </dd></>}
        {evidenceIds(a).length > 0 && <><dt>{t('al.evidence_messages')}</dt><dd data-testid="alert-evidence-messages">
          {evidenceIds(a).map((id) => <a key={id} class="al-ev" href={`#/console/spread/${id}/${a.id}`}>{t('al.msg_id', { id })}</a>)}
        </dd></>}
        {a.contained && <><dt>{t('al.contained')}</dt><dd data-testid="alert-contained">{t(`sp.state.${a.contained}`)}</dd></>}
        {a.kind !== 'report' && <><dt>{t('al.justification')}</dt><dd data-testid="alert-justification">{a.justification ?? '—'}</dd></>}
        <dt>{t('al.status')}</dt><dd data-testid="alert-status">{t(`al.status.${a.status}`)}</dd>
        {a.comment && <><dt>{t('al.comment')}</dt><dd>{a.comment}</dd></>}
        {a.handled_by !== null && a.handled_at !== null && <><dt /><dd class="muted">{t('al.handled', { name: c.nameOf(a.handled_by), time: formatDateTime(a.handled_at) })}</dd></>}
      </dl>
      {(a.kind !== 'report' || a.findings.length > 0) && <>
        <h3>{t('al.findings')}</h3>
        <ul class="findings">{a.findings.map((f, i) => <FindingRow key={i} f={f} />)}</ul>
      </>}
      <AlertFiles client={c} alert={a} />
      {a.message_id !== null && <AlertContext client={c} alert={a} />}
      {a.conversation_id !== null && <p><a href={`#/console/export/conversation/${a.conversation_id}`} data-testid="alert-export">{t('ex.link_conv')}</a></p>}
      {a.status !== 'resolved' && (
        <div class="handle">
          <label for="al-comment">{t('al.comment')}</label>
          <textarea id="al-comment" rows={2} value={comment} onInput={(e) => setComment(e.currentTarget.value)} data-testid="alert-comment" />
          <div class="row">
            {a.status === 'open' && <button type="button" onClick={() => act('ack')} data-testid="alert-ack">{t('al.ack')}</button>}
            <button type="button" class="primary" onClick={() => act('resolve')} data-testid="alert-resolve">{t('al.resolve')}</button>
          </div>
        </div>
      )}
      {err && <p class="error" role="alert">{err}</p>}
    </article>
  );
}

/** The files an alert's findings are in: name, type, size, and on demand
 * the text the guard read in each (OCR of a photographed page, a
 * document's body), from GET /officer/files/{id}/text, which the server
 * audits (file.text). */
function AlertFiles(props: { client: Client; alert: Alert }) {
  const files = new Map<string, NonNullable<Finding['file']>>();
  for (const f of props.alert.findings) if (f.file && !files.has(f.file.id)) files.set(f.file.id, f.file);
  if (files.size === 0) return null;
  return <>
    <h3>{t('al.files')}</h3>
    <ul class="alert-files">{[...files.values()].map((f) => <AlertFile key={f.id} client={props.client} file={f} />)}</ul>
  </>;
}

function AlertFile(props: { client: Client; file: NonNullable<Finding['file']> }) {
  const f = props.file;
  const [text, setText] = useState<FileText | null>(null);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState('');
  const load = async () => {
    setBusy(true);
    setErr('');
    try {
      setText(await props.client.api.officerFileText(f.id));
    } catch (e) {
      setErr(errMsg(e));
    } finally {
      setBusy(false);
    }
  };
  const lang = getLang();
  return (
    <li class="alert-file" data-testid="alert-file">
      <div class="row">
        <strong class="name" data-testid="alert-file-name">{f.name}</strong>
        <span class="muted">{t(`kind.${fileKind(f.name, f.mime)}`)} · {formatBytes(f.size)}</span>
        {!text && <button type="button" onClick={load} disabled={busy} data-testid="alert-file-text-open">
          {busy ? t('al.file_text_loading') : t('al.file_text_open')}</button>}
      </div>
      {err && <p class="error" role="alert">{err}</p>}
      {text && <div class="file-text" data-testid="alert-file-text">
        <p class="muted small">{t('al.file_text_note')}{text.truncated ? ` ${t('al.file_text_truncated')}` : ''}</p>
        {text.parts.length === 0 ? <p class="muted">{t('al.file_text_none')}</p>
          : text.parts.map((p, i) => <section key={i} class="file-text-part">
            <h4 class="muted small">{locationLabel(p.location, lang, f.name) || t('al.file_text_whole')}</h4>
            <pre>{p.text}</pre>
          </section>)}
      </div>}
    </li>
  );
}

/** The conversation around an alert's message, opened with a stated reason
 * (POST /officer/context; the server audits it before answering). */
function AlertContext(props: { client: Client; alert: Alert }) {
  const c = props.client;
  const a = props.alert;
  const [reason, setReason] = useState('');
  const [ctx, setCtx] = useState<OfficerContext | null>(null);
  const [err, setErr] = useState('');
  const open = async (e: Event) => {
    e.preventDefault();
    if (!reason.trim()) return setErr(t('sp.reason_required'));
    try {
      setCtx(await c.api.officerContext({ alert_id: a.id }, reason.trim()));
      setErr('');
    } catch (x) {
      setErr(errMsg(x));
    }
  };
  return (
    <details class="al-context" data-testid="alert-context">
      <summary>{t('ctx.title')}</summary>
      {!ctx && (
        <form onSubmit={open}>
          <label for="ctx-reason">{t('ctx.reason')}</label>
          <input id="ctx-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} data-testid="context-reason" />
          <button type="submit" data-testid="context-open">{t('ctx.open')}</button>
        </form>
      )}
      {err && <p class="error" role="alert">{err}</p>}
      {ctx && (
        <>
          <h4>{t('ctx.heading')}</h4>
          <ol class="ctx-list" data-testid="context-messages">
            {ctx.messages.map((m) => (
              <li key={m.id} class={m.id === ctx.message_id ? 'this' : ''}>
                <span class="muted small">{formatDateTime(m.created_at)} · {c.nameOf(m.sender_id)}</span>
                {m.id === ctx.message_id && <span class="tag">{t('ctx.this')}</span>}
                <div>{m.text ?? (m.held_text !== undefined
                  ? <><span class="tag">{t('ctx.held')}</span> {m.held_text}</>
                  : <span class="muted">{m.contained ? t(`chat.contained.${m.contained}`) : t('ctx.empty_text')}</span>)}</div>
              </li>
            ))}
          </ol>
        </>
      )}
    </details>
  );
}
