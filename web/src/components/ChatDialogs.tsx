import { useMemo, useState } from 'preact/hooks';
import type { Client } from '../client';
import { ApiError, newClientId } from '../api';
import { conversationTitle } from '../store';
import { t, verdictLabel } from '../i18n';
import { errMsg, go, useStore } from '../hooks';
import type { Conversation, DirUser, Message } from '../types';
import { Dialog } from './Dialog';

export function UserPicker(props: { client: Client; exclude: number[]; multi: boolean; selected: number[]; onChange: (ids: number[]) => void }) {
  const dir = useStore(props.client.directory);
  const [q, setQ] = useState('');
  const users = [...dir.values()]
    .filter((u) => !props.exclude.includes(u.id))
    .filter((u) => !q.trim() || `${u.display_name} ${u.login}`.toLowerCase().includes(q.trim().toLowerCase()))
    .sort((a, b) => (a.display_name || a.login).localeCompare(b.display_name || b.login));
  const toggle = (u: DirUser) => {
    if (!props.multi) return props.onChange([u.id]);
    props.onChange(props.selected.includes(u.id) ? props.selected.filter((x) => x !== u.id) : [...props.selected, u.id]);
  };
  return (
    <div class="picker">
      <input type="search" placeholder={t('grp.search')} aria-label={t('grp.search')} value={q} onInput={(e) => setQ(e.currentTarget.value)} data-testid="user-search" />
      <ul class="pick-list" role="listbox" aria-multiselectable={props.multi}>
        {users.map((u) => (
          <li key={u.id}>
            <label class="pick-item">
              <input type={props.multi ? 'checkbox' : 'radio'} name="pick-user" checked={props.selected.includes(u.id)} onChange={() => toggle(u)} data-testid="pick-user" data-login={u.login} />
              <span>{u.display_name || u.login}</span>
              <span class="muted">@{u.login}</span>
              {u.external && <span class="tag ext">{t('list.external')}</span>}
            </label>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function NewDirectDialog(props: { client: Client; onClose: () => void }) {
  const c = props.client;
  const [sel, setSel] = useState<number[]>([]);
  const [err, setErr] = useState('');
  return (
    <Dialog title={t('dm.title')} onClose={props.onClose} testid="direct-dialog">
      <UserPicker client={c} exclude={[c.me]} multi={false} selected={sel} onChange={setSel} />
      {err && <p class="error" role="alert">{err}</p>}
      <div class="row">
        <button type="button" onClick={props.onClose}>{t('guard.cancel')}</button>
        <button type="button" class="primary" disabled={sel.length !== 1} data-testid="direct-start" onClick={async () => {
          try {
            const conv = await c.api.createConversation('direct', sel);
            c.onEvent({ type: 'conversation.updated', conversation: conv });
            props.onClose();
            go(`/chat/${conv.id}`);
          } catch (e) {
            setErr(t('common.error', { msg: errMsg(e) }));
          }
        }}>{t('dm.start')}</button>
      </div>
    </Dialog>
  );
}

export function NewGroupDialog(props: { client: Client; onClose: () => void }) {
  const c = props.client;
  const [sel, setSel] = useState<number[]>([]);
  const [title, setTitle] = useState('');
  const [shared, setShared] = useState(false);
  const [err, setErr] = useState('');
  return (
    <Dialog title={t('grp.title')} onClose={props.onClose} testid="group-dialog">
      <label for="grp-name">{t('grp.name')}</label>
      <input id="grp-name" value={title} required maxLength={128} onInput={(e) => setTitle(e.currentTarget.value)} data-testid="group-name" />
      <label class="pick-item" title={t('grp.shared_history_hint')}>
        <input type="checkbox" checked={shared} onChange={(e) => setShared(e.currentTarget.checked)} data-testid="group-shared-history" />
        {t('grp.shared_history')}
      </label>
      <div class="label">{t('grp.members')}</div>
      <UserPicker client={c} exclude={[c.me]} multi selected={sel} onChange={setSel} />
      {err && <p class="error" role="alert">{err}</p>}
      <div class="row">
        <button type="button" onClick={props.onClose}>{t('guard.cancel')}</button>
        <button type="button" class="primary" disabled={!title.trim() || sel.length === 0} data-testid="group-create" onClick={async () => {
          try {
            const conv = await c.api.createConversation('group', sel, title.trim(), shared);
            c.onEvent({ type: 'conversation.updated', conversation: conv });
            props.onClose();
            go(`/chat/${conv.id}`);
          } catch (e) {
            setErr(t('common.error', { msg: errMsg(e) }));
          }
        }}>{t('grp.create')}</button>
      </div>
    </Dialog>
  );
}

/** 举报 / Report: a message the user sees, or a person, to the security
 * officers, with a note (POST /reports). The officers see who reported. */
export function ReportDialog(props: { client: Client; message?: Message; userId?: number; onClose: () => void; onDone: (notice: string) => void }) {
  const c = props.client;
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState('');
  const m = props.message;
  const who = m ? m.sender_id : props.userId!;
  const submit = async () => {
    setBusy(true);
    setErr('');
    try {
      await c.api.report({ ...(m ? { message_id: m.id } : { user_id: who }), note: note.trim() });
      props.onDone(t('rep.done'));
      props.onClose();
    } catch (e) {
      setErr(errMsg(e));
      setBusy(false);
    }
  };
  return (
    <Dialog title={t('rep.title')} onClose={props.onClose} testid="report-dialog">
      {m ? (
        <>
          <div class="label">{t('rep.what_msg')}</div>
          <blockquote class="rep-quote" data-testid="report-quote"><span class="muted">{c.nameOf(m.sender_id)}：</span>{m.text ?? ''}</blockquote>
        </>
      ) : <p data-testid="report-user">{t('rep.what_user', { name: c.nameOf(who) })}</p>}
      <label for="rep-note">{t('rep.note')}</label>
      <textarea id="rep-note" rows={3} maxLength={2000} value={note} placeholder={t('rep.note_ph')} onInput={(e) => setNote(e.currentTarget.value)} data-testid="report-note" />
      <p class="muted small">{t('rep.hint')}</p>
      {err && <p class="error" role="alert">{err}</p>}
      <div class="row">
        <button type="button" onClick={props.onClose}>{t('rep.cancel')}</button>
        <button type="button" class="primary" disabled={busy || !note.trim()} onClick={submit} data-testid="report-send">{t('rep.send')}</button>
      </div>
    </Dialog>
  );
}

export function MembersDialog(props: { client: Client; conv: Conversation; onClose: () => void }) {
  const c = props.client;
  useStore(c.directory);
  const conv = props.conv;
  const mine = conv.my_role;
  const canManage = conv.kind === 'group' && (mine === 'owner' || mine === 'admin');
  const [adding, setAdding] = useState<number[]>([]);
  const [title, setTitle] = useState(conv.title ?? '');
  const [err, setErr] = useState('');
  const [reporting, setReporting] = useState<number | null>(null);
  const [notice, setNotice] = useState('');
  const act = async (f: () => Promise<unknown>) => {
    setErr('');
    try {
      await f();
      const fresh = await c.api.conversation(conv.id);
      c.onEvent({ type: 'conversation.updated', conversation: fresh });
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        props.onClose();
        go('/chat');
      } else setErr(t('common.error', { msg: errMsg(e) }));
    }
  };
  return (
    <Dialog title={t('mem.title')} onClose={props.onClose} testid="members-dialog">
      {canManage && (
        <form class="row" onSubmit={(e) => { e.preventDefault(); void act(() => c.api.renameConversation(conv.id, title.trim())); }}>
          <label for="grp-rename" class="sr-only">{t('mem.rename')}</label>
          <input id="grp-rename" value={title} maxLength={128} onInput={(e) => setTitle(e.currentTarget.value)} placeholder={t('mem.rename')} />
          <button type="submit" disabled={!title.trim()}>{t('mem.save')}</button>
        </form>
      )}
      {canManage && (
        <label class="pick-item" title={t('grp.shared_history_hint')}>
          <input type="checkbox" checked={!!conv.shared_history} data-testid="members-shared-history"
            onChange={(e) => { const v = e.currentTarget.checked; void act(() => c.api.setSharedHistory(conv.id, v)); }} />
          {t('grp.shared_history')}
        </label>
      )}
      <ul class="members">
        {(conv.members ?? []).map((m) => (
          <li key={m.user_id} data-testid="member">
            <span>{c.nameOf(m.user_id)}</span>
            <span class="tag">{t(`role.${m.role}`)}</span>
            <span class="grow" />
            {mine === 'owner' && m.role !== 'owner' && conv.kind === 'group' && (
              <button type="button" class="link" onClick={() => act(() => c.api.setMemberRole(conv.id, m.user_id, m.role === 'admin' ? 'member' : 'admin'))}>
                {m.role === 'admin' ? t('mem.make_member') : t('mem.make_admin')}
              </button>
            )}
            {canManage && m.user_id !== c.me && m.role !== 'owner' && (
              <button type="button" class="link danger" onClick={() => act(() => c.api.removeMember(conv.id, m.user_id))}>{t('mem.remove')}</button>
            )}
            {m.user_id !== c.me && (
              <button type="button" class="link" onClick={() => setReporting(m.user_id)} data-testid="member-report">{t('rep.user')}</button>
            )}
          </li>
        ))}
      </ul>
      {notice && <p class="notice-inline" role="status" data-testid="members-notice">{notice}</p>}
      {reporting !== null && <ReportDialog client={c} userId={reporting} onClose={() => setReporting(null)} onDone={setNotice} />}
      {canManage && (
        <>
          <div class="label">{t('mem.add')}</div>
          <UserPicker client={c} exclude={(conv.members ?? []).map((m) => m.user_id)} multi selected={adding} onChange={setAdding} />
          <div class="row">
            <button type="button" disabled={adding.length === 0} data-testid="members-add" onClick={() => act(async () => {
              for (const u of adding) await c.api.addMember(conv.id, u);
              setAdding([]);
            })}>{t('mem.add')}</button>
          </div>
        </>
      )}
      {err && <p class="error" role="alert">{err}</p>}
      <div class="row">
        {conv.kind === 'group' && (
          <button type="button" class="danger" onClick={async () => {
            try {
              await c.api.leave(conv.id);
              c.conversations.update((l) => l.filter((x) => x.id !== conv.id));
              props.onClose();
              go('/chat');
            } catch (e) {
              setErr(t('common.error', { msg: errMsg(e) }));
            }
          }}>{t('mem.leave')}</button>
        )}
        <span class="grow" />
        <button type="button" onClick={props.onClose}>{t('common.close')}</button>
      </div>
    </Dialog>
  );
}

export function ForwardDialog(props: { client: Client; message: Message; onClose: () => void }) {
  const c = props.client;
  const list = useStore(c.conversations);
  const [q, setQ] = useState('');
  const [sel, setSel] = useState<number[]>([]);
  const [busy, setBusy] = useState(false);
  const [results, setResults] = useState<string[] | null>(null);
  const clientId = useMemo(() => newClientId(), []);
  const title = (x: Conversation) => conversationTitle(x, c.me, c.nameOf);
  const shown = list.filter((x) => !q.trim() || title(x).toLowerCase().includes(q.trim().toLowerCase()));
  return (
    <Dialog title={t('fwd.title')} onClose={props.onClose} testid="forward-dialog">
      <blockquote class="fwd-quote">{props.message.text}</blockquote>
      <input type="search" placeholder={t('fwd.search')} aria-label={t('fwd.search')} value={q} onInput={(e) => setQ(e.currentTarget.value)} />
      <ul class="pick-list">
        {shown.map((x) => (
          <li key={x.id}>
            <label class="pick-item">
              <input type="checkbox" checked={sel.includes(x.id)} data-testid="fwd-target" data-conv-id={x.id} onChange={() => setSel(sel.includes(x.id) ? sel.filter((y) => y !== x.id) : [...sel, x.id])} />
              <span>{title(x)}</span>
              {x.external && <span class="tag ext">{t('list.external')}</span>}
            </label>
          </li>
        ))}
      </ul>
      {results && <ul class="fwd-results" role="status" data-testid="fwd-results">{results.map((r, i) => <li key={i}>{r}</li>)}</ul>}
      <div class="row">
        <button type="button" onClick={props.onClose}>{results ? t('common.close') : t('guard.cancel')}</button>
        {!results && (
          <button type="button" class="primary" disabled={sel.length === 0 || busy} data-testid="fwd-send" onClick={async () => {
            setBusy(true);
            try {
              const r = await c.api.forward(props.message.id, sel, clientId);
              const out: string[] = [];
              let ok = 0;
              for (const x of r.results) {
                if (x.message) {
                  ok++;
                  c.addMessage(x.message);
                } else {
                  const conv = list.find((y) => y.id === x.conversation_id);
                  const v = x.guard && x.guard.verdict !== 'allow' ? ` (${verdictLabel(x.guard.verdict)}${x.guard.decided_by ? ': ' + x.guard.decided_by : ''})` : '';
                  out.push(t('fwd.result_fail', { title: conv ? title(conv) : `#${x.conversation_id}`, msg: (x.error?.message ?? String(x.status)) + v }));
                }
              }
              out.unshift(t('fwd.result_ok', { n: ok }));
              setResults(out);
            } catch (e) {
              setResults([t('common.error', { msg: errMsg(e) })]);
            } finally {
              setBusy(false);
            }
          }}>{t('fwd.send')}</button>
        )}
      </div>
    </Dialog>
  );
}
