// What staff use a consumer chat for, inside the work chat (issue 16):
// scheduled reminders (定时提醒), contact cards (名片) and burn-after-reading
// (阅后即焚). Message bubbles for the three kinds, the dialogs that make
// them, and the banner of reminders that came due.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Client } from '../client';
import { ApiError, newClientId } from '../api';
import { formatDateTime, userTimeZone } from '../format';
import { t } from '../i18n';
import { errMsg, go, useStore } from '../hooks';
import type { ContactCard, Conversation, Message, Reminder, RemindTarget, Repeat } from '../types';
import { Dialog } from './Dialog';
import { UserPicker } from './ChatDialogs';

export { workPreview } from '../work';

const REPEATS: Repeat[] = ['once', 'daily', 'workdays', 'weekly'];

/** A fired reminder in the chat. */
export function ReminderBubble(props: { client: Client; m: Message }) {
  const c = props.client;
  const r = props.m.reminder;
  const who = r ? (r.target === 'all' ? t('rem.to_all') : r.user_ids.map((u) => c.nameOf(u)).join('、')) : '';
  return (
    <div class="work-card reminder-card" data-testid="reminder-card">
      <div class="wc-head">{t('rem.card_title')}{r?.late && <span class="tag late" data-testid="reminder-late">{t('rem.late')}</span>}</div>
      <div class="wc-text" data-testid="message-text">{props.m.text}</div>
      {r && <div class="wc-meta muted">{t('rem.card_to', { who })} · {t(`rem.repeat.${r.repeat}`)} · {formatDateTime(r.due_at)}</div>}
    </div>
  );
}

/** A contact card: the account as this viewer may see it, now. */
export function ContactBubble(props: { client: Client; m: Message }) {
  const c = props.client;
  const uid = props.m.card?.user_id ?? 0;
  const [card, setCard] = useState<ContactCard | null>(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    let live = true;
    c.api.userCard(uid).then((r) => live && setCard(r.card), (e) => live && setErr(e instanceof ApiError && e.status === 404 ? t('card.gone') : errMsg(e)));
    return () => {
      live = false;
    };
  }, [uid]);
  const chat = async () => {
    try {
      const conv = await c.api.createConversation('direct', [uid]);
      c.onEvent({ type: 'conversation.updated', conversation: conv });
      go(`/chat/${conv.id}`);
    } catch (e) {
      setErr(errMsg(e));
    }
  };
  const name = card ? card.display_name || card.login : c.nameOf(uid);
  return (
    <div class="work-card contact-card" data-testid="contact-card">
      <div class="wc-head">{t('card.title')}</div>
      <div class="cc-row">
        <span class="avatar" aria-hidden="true">{name.slice(0, 1)}</span>
        <span class="cc-main">
          <strong data-testid="card-name">{name}</strong>
          {card && <span class="muted"> @{card.login}</span>}
          {card?.external && <span class="tag ext">{t('list.external')}</span>}
          {card && <div class="muted" data-testid="card-phone">{t('card.phone_is', { phone: card.phone ?? t('card.no_phone') })}</div>}
        </span>
      </div>
      {err && <div class="error">{err}</div>}
      {card && uid !== c.me && <button type="button" class="link" onClick={chat} data-testid="card-chat">{t('card.chat')}</button>}
    </div>
  );
}

/** Whether the window is in front: burn text is blurred otherwise. */
function useInFront(): boolean {
  const [front, setFront] = useState(() => !document.hidden && document.hasFocus());
  useEffect(() => {
    const upd = () => setFront(!document.hidden && document.hasFocus());
    window.addEventListener('blur', upd);
    window.addEventListener('focus', upd);
    document.addEventListener('visibilitychange', upd);
    // a press is the moment that matters: read the state again then (a page
    // can be in front without a focus event after it was drawn)
    window.addEventListener('pointerdown', upd, true);
    return () => {
      window.removeEventListener('blur', upd);
      window.removeEventListener('focus', upd);
      document.removeEventListener('visibilitychange', upd);
      window.removeEventListener('pointerdown', upd, true);
    };
  }, []);
  return front;
}

/** Burn-after-reading: opened once, shown only while pressed and while the
 *  window is in front, gone after the visible time. */
export function BurnBubble(props: { client: Client; m: Message; mine: boolean }) {
  const c = props.client;
  const m = props.m;
  const opened = useStore(c.burnOpened).has(m.id);
  const [text, setText] = useState<string | null>(null);
  // the pictures as object URLs, fetched right after the open (the server
  // serves them only for the visible time) and revoked when it ends
  const [imgs, setImgs] = useState<string[]>([]);
  const [shown, setShown] = useState(false);
  const [left, setLeft] = useState(0);
  const [pressed, setPressed] = useState(false);
  const [err, setErr] = useState('');
  const front = useInFront();
  const timer = useRef<ReturnType<typeof setInterval> | null>(null);
  const urls = useRef<string[]>([]);
  const drop = () => {
    for (const u of urls.current) URL.revokeObjectURL(u);
    urls.current = [];
    setImgs([]);
    setText(null);
    setShown(false);
  };
  useEffect(() => () => {
    if (timer.current) clearInterval(timer.current);
    for (const u of urls.current) URL.revokeObjectURL(u);
  }, []);
  const markOpened = () => c.burnOpened.update((s) => new Set([...s, m.id]));
  const open = async () => {
    setErr('');
    try {
      const r = await c.api.openBurn(m.id);
      markOpened();
      setText(r.withheld ? null : r.text);
      setLeft(r.visible_seconds);
      setShown(!r.withheld);
      timer.current = setInterval(() => {
        setLeft((s) => {
          if (s > 1) return s - 1;
          if (timer.current) clearInterval(timer.current);
          drop();
          return 0;
        });
      }, 1000);
      const got: string[] = [];
      for (const a of r.attachments ?? []) {
        const res = await fetch(`/api/v1/files/${encodeURIComponent(a.id)}?inline=1`, { credentials: 'same-origin' });
        if (res.ok) got.push(URL.createObjectURL(await res.blob()));
      }
      urls.current = got;
      setImgs(got);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'burn_opened') markOpened();
      else setErr(errMsg(e));
    }
  };
  const n = m.burn_images ?? 0;
  let body;
  if (m.burn_destroyed) body = <span class="muted" data-testid="burn-destroyed">{t('burn.destroyed')}</span>;
  else if (props.mine) body = <span class="muted" data-testid="burn-sent">{n ? t('burn.sent_images', { n }) : t('burn.sent')}</span>;
  else if (shown && left > 0) {
    const show = pressed && front;
    body = (
      <div>
        <div
          class={`burn-text ${show ? '' : 'blurred'}`}
          data-testid="burn-text"
          data-shown={String(show)}
          onPointerDown={(e) => {
            // captured: content changing under the finger does not end the press
            (e.currentTarget as HTMLElement).setPointerCapture?.(e.pointerId);
            setPressed(true);
          }}
          onPointerUp={() => setPressed(false)}
          onPointerLeave={() => setPressed(false)}
          onPointerCancel={() => setPressed(false)}
          onContextMenu={(e) => e.preventDefault()}
          onDragStart={(e) => e.preventDefault()}
          aria-label={t('burn.hold')}
        >
          {show && text !== null ? text : t('burn.hold')}
          {n > 0 && (
            <div class={`burn-imgs n${Math.min(n, 3)} ${show ? '' : 'blurred'}`} data-testid="burn-images" data-count={imgs.length}>
              {/* like the text: the pixels are in the page only while pressed and in front */}
              {/* the same slot either way: a node swapped under a pressing finger ends the press */}
              {imgs.map((u, i) => (
                <span key={i} class={`burn-slot ${show ? '' : 'burn-ph'}`} data-testid={show ? 'burn-slot' : 'burn-image-hidden'}>
                  {show && <img src={u} alt="" draggable={false} data-testid="burn-image" />}
                </span>
              ))}
            </div>
          )}
        </div>
        <div class="muted burn-left" data-testid="burn-left">{t('burn.left', { s: left })}</div>
      </div>
    );
  } else if (opened) body = <span class="muted" data-testid="burn-opened">{t('burn.opened')}</span>;
  else body = <button type="button" class="burn-open" onClick={open} data-testid="burn-open">{n ? t('burn.tap_images', { n }) : t('burn.tap')}</button>;
  return (
    <div class="work-card burn-card" data-testid="burn-card">
      <div class="wc-head">{t('burn.title')}</div>
      {body}
      {err && <div class="error">{err}</div>}
    </div>
  );
}

/** datetime-local value for an instant, in the browser's zone. */
function localInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Create (or edit) a reminder. */
export function ReminderDialog(props: { client: Client; conv: Conversation; edit?: Reminder; onClose: () => void; onSaved?: () => void }) {
  const c = props.client;
  const e0 = props.edit;
  const [text, setText] = useState(e0?.text ?? '');
  const [when, setWhen] = useState(localInput(e0?.at ?? Date.now() + 3600e3));
  const [repeat, setRepeat] = useState<Repeat>(e0?.repeat ?? 'once');
  const [target, setTarget] = useState<RemindTarget>(e0?.target ?? 'me');
  const [sel, setSel] = useState<number[]>(e0?.member_ids ?? []);
  const [err, setErr] = useState('');
  const members = (props.conv.members ?? []).map((m) => m.user_id);
  const save = async () => {
    const at = new Date(when).getTime();
    if (!text.trim() || !Number.isFinite(at)) return setErr(t('rem.need'));
    const body = { text, at, repeat, tz: userTimeZone(), target, ...(target === 'members' ? { member_ids: sel } : {}) };
    // Saving is a user's gesture: the moment to ask once for system
    // notifications, so a reminder also reaches a page in the background.
    const N = (globalThis as { Notification?: typeof Notification }).Notification;
    if (N && N.permission === 'default') void N.requestPermission().catch(() => undefined);
    try {
      if (e0) await c.api.editReminder(e0.id, body);
      else await c.api.createReminder(props.conv.id, body);
      props.onSaved?.();
      props.onClose();
    } catch (e) {
      setErr(errMsg(e));
    }
  };
  return (
    <Dialog title={e0 ? t('rem.edit') : t('rem.new')} onClose={props.onClose} testid="reminder-dialog">
      <label for="rem-text">{t('rem.text')}</label>
      <textarea id="rem-text" rows={2} value={text} onInput={(e) => setText(e.currentTarget.value)} data-testid="reminder-text" />
      <label for="rem-at">{t('rem.at')}</label>
      <input id="rem-at" type="datetime-local" value={when} onInput={(e) => setWhen(e.currentTarget.value)} data-testid="reminder-at" />
      <div class="muted">{t('tz.note', { tz: userTimeZone() })}</div>
      <label for="rem-repeat">{t('rem.repeat')}</label>
      <select id="rem-repeat" value={repeat} onChange={(e) => setRepeat(e.currentTarget.value as Repeat)} data-testid="reminder-repeat">
        {REPEATS.map((r) => <option key={r} value={r}>{t(`rem.repeat.${r}`)}</option>)}
      </select>
      <label for="rem-target">{t('rem.target')}</label>
      <select id="rem-target" value={target} onChange={(e) => setTarget(e.currentTarget.value as RemindTarget)} data-testid="reminder-target">
        <option value="me">{t('rem.target.me')}</option>
        <option value="members">{t('rem.target.members')}</option>
        {props.conv.kind === 'group' && <option value="all">{t('rem.target.all')}</option>}
      </select>
      {target === 'members' && <UserPicker client={c} exclude={[...c.directory.get().keys()].filter((u) => !members.includes(u))} multi selected={sel} onChange={setSel} />}
      {err && <p class="error" role="alert">{err}</p>}
      <div class="row">
        <button type="button" onClick={props.onClose}>{t('guard.cancel')}</button>
        <button type="button" class="primary" onClick={save} data-testid="reminder-save">{t('mem.save')}</button>
      </div>
    </Dialog>
  );
}

/** The conversation's reminders the caller may see: edit, cancel, add. */
export function RemindersDialog(props: { client: Client; conv: Conversation; onClose: () => void }) {
  const c = props.client;
  const [list, setList] = useState<Reminder[] | null>(null);
  const [edit, setEdit] = useState<Reminder | 'new' | null>(null);
  const [err, setErr] = useState('');
  const load = () => c.api.reminders(props.conv.id).then((r) => setList(r.reminders), (e) => setErr(errMsg(e)));
  // live: a reminder made, changed, cancelled or fired by another member or
  // session (reminder.* events, ids only) makes the list read itself again
  const changes = useStore(c.reminderChanges)[props.conv.id] ?? 0;
  useEffect(() => {
    void load();
  }, [changes]);
  if (edit) return <ReminderDialog client={c} conv={props.conv} edit={edit === 'new' ? undefined : edit} onClose={() => setEdit(null)} onSaved={load} />;
  return (
    <Dialog title={t('rem.list')} onClose={props.onClose} testid="reminders-dialog">
      {list && list.length === 0 && <p class="muted">{t('rem.none')}</p>}
      <ul class="rem-list">
        {(list ?? []).map((r) => (
          <li key={r.id} data-testid="reminder-item">
            <div><strong>{r.text}</strong></div>
            <div class="muted">{formatDateTime(r.at)} · {t(`rem.repeat.${r.repeat}`)} · {r.target === 'members' ? r.member_ids.map((u) => c.nameOf(u)).join('、') : t(`rem.target.${r.target}`)}</div>
            {r.creator_id === c.me && (
              <div class="row">
                <button type="button" class="link" onClick={() => setEdit(r)}>{t('rem.edit')}</button>
                <button type="button" class="link" data-testid="reminder-cancel" onClick={async () => {
                  try {
                    await c.api.cancelReminder(r.id);
                    void load();
                  } catch (e) {
                    setErr(errMsg(e));
                  }
                }}>{t('rem.cancel')}</button>
              </div>
            )}
          </li>
        ))}
      </ul>
      {err && <p class="error" role="alert">{err}</p>}
      <div class="row">
        <button type="button" class="primary" onClick={() => setEdit('new')} data-testid="reminder-new">{t('rem.new')}</button>
      </div>
    </Dialog>
  );
}

/** Share a colleague's card into the conversation. */
export function CardDialog(props: { client: Client; conv: Conversation; onClose: () => void }) {
  const c = props.client;
  const [sel, setSel] = useState<number[]>([]);
  const [err, setErr] = useState('');
  return (
    <Dialog title={t('card.share')} onClose={props.onClose} testid="card-dialog">
      <UserPicker client={c} exclude={[]} multi={false} selected={sel} onChange={setSel} />
      {err && <p class="error" role="alert">{err}</p>}
      <div class="row">
        <button type="button" onClick={props.onClose}>{t('guard.cancel')}</button>
        <button type="button" class="primary" disabled={sel.length !== 1} data-testid="card-send" onClick={async () => {
          try {
            const r = await c.api.sendCard(props.conv.id, newClientId(), sel[0]);
            c.addMessage(r.message);
            props.onClose();
          } catch (e) {
            setErr(errMsg(e));
          }
        }}>{t('card.send')}</button>
      </div>
    </Dialog>
  );
}

/** Reminders that came due (reminder.due), until dismissed. */
export function ReminderBanner(props: { client: Client }) {
  const c = props.client;
  const notes = useStore(c.reminderNotes);
  if (!notes.length) return null;
  const n = notes[0];
  return (
    <div class="reminder-banner" role="alert" data-testid="reminder-banner">
      <span class="rb-label">{n.late ? t('rem.due_late') : t('rem.due')}</span>
      <a href={`#/chat/${n.conversation_id}`} class="grow rb-text">{n.text}</a>
      <button type="button" class="link" onClick={() => c.reminderNotes.update((l) => l.slice(1))}>{t('common.close')}</button>
    </div>
  );
}
