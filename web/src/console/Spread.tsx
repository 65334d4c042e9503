// The spread of a message (#/console/spread/<message id>[/<alert id>]): the
// tree of its copies from the original, each with its conversation, who
// forwarded it, when, who received it and who read it, and the officer's
// containment — every copy or one — with a reason (GET /officer/spread,
// POST /officer/contain; docs/API.md, "Trace and contain"). The same for a
// file (#/console/spread-file/<file id>[/<alert id>]): every message that
// delivers its bytes, forwarded or uploaded again by someone else (traced
// by content hash), one tree per upload, contained in one action.
import { useEffect, useState } from 'preact/hooks';
import type { Client } from '../client';
import { formatDateTime } from '../format';
import { formatBytes } from '../uploads';
import { t } from '../i18n';
import { errMsg, useStore } from '../hooks';
import type { ContainAction, FileSpread, OfficerContext, Spread as SpreadT, SpreadCopy } from '../types';
import { convName, rememberConversation } from './names';

function names(c: Client, ids: number[]): string {
  return ids.length ? ids.map((id) => c.nameOf(id)).join('、') : t('sp.none');
}

interface NodeProps {
  client: Client;
  /** in a file's spread: the file traced (a copy of another upload says so) */
  fileId?: string;
  kids: Map<number, SpreadCopy[]>;
  busy: boolean;
  onRemove: (id: number) => void;
  /** the conversation around a copy, with the reason typed above (audited) */
  onContext: (id: number) => Promise<OfficerContext | null>;
}

/** The messages around one copy, as POST /officer/context gives them. */
function CopyContext(props: { client: Client; ctx: OfficerContext }) {
  const c = props.client;
  return (
    <ol class="ctx-list" data-testid="spread-context">
      {props.ctx.messages.map((m) => (
        <li key={m.id} class={m.id === props.ctx.message_id ? 'this' : ''}>
          <span class="muted small">{formatDateTime(m.created_at)} · {c.nameOf(m.sender_id)}</span>
          <div>{m.text ?? (m.held_text !== undefined
            ? <><span class="tag">{t('ctx.held')}</span> {m.held_text}</>
            : <span class="muted">{m.contained ? t(`chat.contained.${m.contained}`) : t('ctx.empty_text')}</span>)}</div>
        </li>
      ))}
    </ol>
  );
}

/** A run of copies each forwarded from the one before (a chain reads down a
 * column rather than nesting a level per hop); where a copy was forwarded
 * more than once, its branches indent under it. */
function Chain(props: NodeProps & { from: SpreadCopy }) {
  const items = [];
  for (let cur: SpreadCopy | undefined = props.from, guard = 0; cur && guard < 10000; guard++) {
    const ch: SpreadCopy[] = props.kids.get(cur.message_id) ?? [];
    items.push(<CopyNode key={cur.message_id} {...props} copy={cur} branches={ch.length > 1 ? ch : []} />);
    cur = ch.length === 1 ? ch[0] : undefined;
  }
  return <ul class="sp-chain">{items}</ul>;
}

function CopyNode(props: NodeProps & { copy: SpreadCopy; branches: SpreadCopy[] }) {
  const c = props.client;
  const x = props.copy;
  const unread = x.recipients.filter((u) => !x.read_by.includes(u));
  const [ctx, setCtx] = useState<OfficerContext | null>(null);
  const pct = x.recipients.length ? Math.round((100 * x.read_by.length) / x.recipients.length) : 0;
  return (
    <li class={`sp-node st-${x.state}`} id={`sp-${x.message_id}`} data-testid="spread-node" data-msg-id={x.message_id} data-state={x.state}>
      <div class="sp-card">
        <div class="sp-head">
          <span class={`tag sp-depth ${x.depth === 0 ? 'root' : ''}`}>{x.depth === 0 ? t('sp.origin') : t('sp.hop', { n: x.depth })}</span>
          <strong class="sp-conv" data-testid="spread-conv">{convName(c, x.conversation.id)}</strong>
          {x.conversation.external && <span class="tag ext">{t('sp.ext')}</span>}
          <span class={`tag sp-state st-${x.state}`} data-testid="spread-state">{t(`sp.state.${x.state}`)}</span>
          {props.fileId && x.depth === 0 && x.file_ids && !x.file_ids.includes(props.fileId) && <span class="tag" data-testid="spread-other-upload">{t('sp.other_upload')}</span>}
        </div>
        <div class="sp-meta muted">
          {x.depth === 0 ? t('sp.sent_by', { name: c.nameOf(x.sender_id) }) : t('sp.by', { name: c.nameOf(x.sender_id) })}
          {' · '}<time dateTime={new Date(x.created_at).toISOString()}>{formatDateTime(x.created_at)}</time>
        </div>
        <div class="sp-reach">
          <span>{t('sp.recipients', { n: x.recipients.length })}</span>
          <span class="sp-bar" aria-hidden="true"><span style={{ width: `${pct}%` }} /></span>
          <span data-testid="spread-readers">{t('sp.readers', { n: x.read_by.length })}</span>
        </div>
        <div class="sp-who small">
          <div>{t('sp.read_names', { names: names(c, x.read_by) })}</div>
          <div class="muted">{t('sp.unread_names', { names: names(c, unread) })}</div>
        </div>
        <div class="sp-actions">
          <button type="button" class="link small" onClick={async () => setCtx(ctx ? null : await props.onContext(x.message_id))} data-testid="spread-context-open">{t('ctx.open')}</button>
          {(x.state === 'visible' || x.state === 'quarantined') && (
            <button type="button" class="link danger small" disabled={props.busy} onClick={() => props.onRemove(x.message_id)} data-testid="spread-remove-one">{t('sp.remove_one')}</button>
          )}
        </div>
        {ctx && <CopyContext client={c} ctx={ctx} />}
      </div>
      {props.branches.length > 0 && (
        <ul class="sp-kids">
          {props.branches.map((b) => <li key={b.message_id} class="sp-branch"><Chain {...props} from={b} /></li>)}
        </ul>
      )}
    </li>
  );
}

export function Spread(props: { client: Client; messageId?: number; fileId?: string; alertId?: number }) {
  const c = props.client;
  useStore(c.directory);
  const [sp, setSp] = useState<(SpreadT | FileSpread) | null>(null);
  const [err, setErr] = useState('');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState('');

  const load = async () => {
    try {
      const s = props.fileId ? await c.api.spreadFile(props.fileId) : await c.api.spread({ message_id: props.messageId });
      // the console names conversations it has seen (names.tsx)
      for (const x of s.copies) rememberConversation(x.conversation.id, x.conversation);
      setSp(s);
      setErr('');
    } catch (e) {
      setErr(errMsg(e));
    }
  };
  useEffect(() => void load(), [props.messageId, props.fileId]);

  const contain = async (action: ContainAction, scope: 'copy' | 'tree', id: number) => {
    setDone('');
    if (!reason.trim()) return setErr(t('sp.reason_required'));
    if (action === 'remove' && scope === 'tree' && sp && !window.confirm(t('sp.confirm_remove', { n: sp.totals.conversations }))) return;
    setBusy(true);
    try {
      const byFile = props.fileId && scope === 'tree';
      const r = byFile ? await c.api.containFile(props.fileId!, reason.trim(), scope, action) : await c.api.contain(id, reason.trim(), scope, action);
      setDone(r.changed_count ? t(`sp.done.${action}`, { n: r.changed_count }) + (r.blobs_removed ? ` ${t('sp.done_blobs')}` : '') : t('sp.done_none', { n: r.copies }));
      setErr('');
      if (props.fileId && action === 'remove' && sp) {
        // removed with its last message, the file itself is gone: mark the
        // copies here rather than ask for a spread that no longer exists
        const gone = new Set(r.changed.map((x) => x.message_id));
        setSp({ ...sp, copies: sp.copies.map((x) => (gone.has(x.message_id) ? { ...x, state: 'removed' } : x)) } as FileSpread);
      } else await load();
    } catch (e) {
      setErr(errMsg(e));
    } finally {
      setBusy(false);
    }
  };

  const context = async (id: number): Promise<OfficerContext | null> => {
    if (!reason.trim()) {
      setErr(t('sp.reason_required'));
      return null;
    }
    try {
      const r = await c.api.officerContext({ message_id: id }, reason.trim());
      setErr('');
      return r;
    } catch (e) {
      setErr(errMsg(e));
      return null;
    }
  };

  const kids = new Map<number, SpreadCopy[]>();
  const roots: SpreadCopy[] = [];
  for (const x of sp?.copies ?? []) {
    if (x.parent_id !== null && sp?.copies.some((p) => p.message_id === x.parent_id)) {
      const l = kids.get(x.parent_id) ?? [];
      l.push(x);
      kids.set(x.parent_id, l);
    } else roots.push(x);
  }
  const rootId = sp && 'root_message_id' in sp ? sp.root_message_id : 0;
  const anyHeld = sp?.copies.some((x) => x.state === 'quarantined');
  const anyLive = sp?.copies.some((x) => x.state === 'visible' || x.state === 'quarantined');
  return (
    <section class="spread" data-testid="spread" aria-label={t('sp.title')}>
      {props.alertId && <a class="back" href={`#/console/alerts/${props.alertId}`} data-testid="spread-back">← {t('sp.back_alert')}</a>}
      <h2>{props.fileId ? t('sp.file_title') : t('sp.title')}</h2>
      {err && <p class="error" role="alert" data-testid="spread-error">{err}</p>}
      {!sp && !err && <p class="muted">{t('sp.loading')}</p>}
      {sp && (
        <>
          <p class="sp-summary">
            {'file' in sp
              ? <span data-testid="spread-file">{t('sp.file', { name: sp.file.name, size: formatBytes(sp.file.size), name2: c.nameOf(sp.file.owner_id) })}</span>
              : <span>{t('sp.root', { id: sp.root_message_id, name: c.nameOf(sp.root_sender_id) })}</span>}
            <strong data-testid="spread-totals">{'file' in sp ? t('sp.file_totals', sp.totals) : t('sp.totals', sp.totals)}</strong>
          </p>
          {sp.truncated && <p class="error">{t('sp.truncated', { n: sp.copies.length })}</p>}
          {/* every copy at a glance, oldest first, coloured by state; a click shows its card */}
          <div class="sp-map" role="list" aria-label={t('sp.map')} data-testid="spread-map">
            {sp.copies.map((x) => (
              <button key={x.message_id} type="button" role="listitem" class={`sp-dot st-${x.state}`}
                title={`${x.depth === 0 ? t('sp.origin') : t('sp.hop', { n: x.depth })} · ${convName(c, x.conversation.id)} · ${t(`sp.state.${x.state}`)}`}
                onClick={() => document.getElementById(`sp-${x.message_id}`)?.scrollIntoView({ block: 'center' })} />
            ))}
          </div>
          <div class="card sp-contain">
            <h3>{anyLive ? t('sp.contain') : t('sp.reason_only')}</h3>
            <label for="sp-reason">{t('sp.reason')}</label>
            <textarea id="sp-reason" rows={2} value={reason} onInput={(e) => setReason(e.currentTarget.value)} data-testid="spread-reason" />
            <div class="row">
              {anyLive && <button type="button" class="danger" disabled={busy} onClick={() => contain('remove', 'tree', rootId)} data-testid="spread-remove-all">{t('sp.remove_all')}</button>}
              {sp.copies.some((x) => x.state === 'visible') && <button type="button" disabled={busy} onClick={() => contain('quarantine', 'tree', rootId)} data-testid="spread-quarantine-all">{t('sp.quarantine_all')}</button>}
              {anyHeld && <button type="button" disabled={busy} onClick={() => contain('restore', 'tree', rootId)} data-testid="spread-restore-all">{t('sp.restore_all')}</button>}
            </div>
            {done && <p class="ok" role="status" data-testid="spread-done">{done}</p>}
          </div>
          <div class="sp-tree" data-testid="spread-tree">
            {roots.map((x) => <Chain key={x.message_id} client={c} fileId={props.fileId} from={x} kids={kids} busy={busy} onRemove={(id) => contain('remove', 'copy', id)} onContext={context} />)}
          </div>
        </>
      )}
    </section>
  );
}
