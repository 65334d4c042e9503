import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Client } from '../client';
import { ApiError, newClientId } from '../api';
import { conversationTitle, filterConversations, isDelivered, readCount } from '../store';
import { dayKey, formatDateTime, formatShort, preview, segmentsOf, utf8Length } from '../format';
import { policyRuleLabel, t } from '../i18n';
import { errMsg, hanziFor, useStore } from '../hooks';
import type { Conversation, GuardOutcome, Message } from '../types';
import { ViewerWatermark } from './Watermark';
import { BlockDialog, ConfirmDialog, FindingList, Highlighted } from './GuardViews';
import { MembersDialog, NewDirectDialog, NewGroupDialog, ForwardDialog, ReportDialog } from './ChatDialogs';
import { BurnBubble, CardDialog, ContactBubble, ReminderBanner, ReminderBubble, RemindersDialog, workPreview } from './Work';
import { Attachments, PendingTray, attachmentsPreview } from './Files';
import { checkSend, MAX_ATTACHMENTS } from '../uploads';

export function Chat(props: { client: Client; route: string[] }) {
  const c = props.client;
  const id = props.route[0] === 'chat' && props.route[1] ? Number(props.route[1]) : null;
  useEffect(() => {
    void c.open(id);
  }, [id]);
  useEffect(() => () => void c.open(null), []);
  return (
    <div class={`chat ${id ? 'has-open' : ''}`}>
      <ReminderBanner client={c} />
      <ConvList client={c} openId={id} />
      {id ? <ConvView key={id} client={c} id={id} /> : <div class="conv-empty"><p>{t('chat.pick')}</p></div>}
    </div>
  );
}

function ConvList(props: { client: Client; openId: number | null }) {
  const c = props.client;
  const list = useStore(c.conversations);
  useStore(c.directory);
  const [q, setQ] = useState('');
  const [dlg, setDlg] = useState<'direct' | 'group' | null>(null);
  const title = (x: Conversation) => conversationTitle(x, c.me, c.nameOf);
  const shown = filterConversations(list, q, title);
  const now = Date.now();
  return (
    <aside class="conv-list" aria-label={t('list.title')}>
      <div class="conv-tools">
        <input type="search" placeholder={t('list.search')} aria-label={t('list.search')} value={q} onInput={(e) => setQ(e.currentTarget.value)} data-testid="conv-search" />
        <button type="button" onClick={() => setDlg('direct')} data-testid="new-direct" title={t('list.new_direct')}>＋{t('list.new_direct')}</button>
        <button type="button" onClick={() => setDlg('group')} data-testid="new-group" title={t('list.new_group')}>＋{t('list.new_group')}</button>
      </div>
      <ul role="list">
        {shown.length === 0 && <li class="muted pad">{t('list.empty')}</li>}
        {shown.map((x) => {
          const lm = x.last_message;
          return (
            <li key={x.id}>
              <a href={`#/chat/${x.id}`} class={`conv-item ${x.id === props.openId ? 'active' : ''}`} aria-current={x.id === props.openId ? 'true' : undefined} data-testid="conv-item" data-conv-id={x.id}>
                <span class="avatar" aria-hidden="true">{title(x).slice(0, 1)}</span>
                <span class="ci-main">
                  <span class="ci-title">{title(x)}{x.external && <span class="tag ext">{t('list.external')}</span>}</span>
                  <span class="ci-last">{lm ? (lm.recalled ? t(lm.contained ? 'list.contained' : 'list.recalled') : lm.withheld ? t('list.withheld') : `${x.kind === 'group' ? c.nameOf(lm.sender_id) + ': ' : ''}${workPreview(lm) ?? (preview(lm.text) || attachmentsPreview(lm.attachments))}`) : ''}</span>
                </span>
                <span class="ci-side">
                  {lm && <time class="ci-time" dateTime={new Date(lm.created_at).toISOString()}>{formatShort(lm.created_at, now)}</time>}
                  {(x.unread ?? 0) > 0 && <span class="badge" data-testid="unread" aria-label={t('list.unread', { n: x.unread! })}>{x.unread! > 99 ? '99+' : x.unread}</span>}
                </span>
              </a>
            </li>
          );
        })}
      </ul>
      {dlg === 'direct' && <NewDirectDialog client={c} onClose={() => setDlg(null)} />}
      {dlg === 'group' && <NewGroupDialog client={c} onClose={() => setDlg(null)} />}
    </aside>
  );
}

const RECALL_WINDOW_MS = 120_000;

function ConvView(props: { client: Client; id: number }) {
  const c = props.client;
  const list = useStore(c.conversations);
  const threads = useStore(c.threads);
  useStore(c.directory);
  const conv = list.find((x) => x.id === props.id);
  const th = threads[props.id];
  const [fwd, setFwd] = useState<Message | null>(null);
  const [report, setReport] = useState<Message | null>(null);
  const [members, setMembers] = useState(false);
  const [reminders, setReminders] = useState(false);
  const [notice, setNotice] = useState('');
  const [dragging, setDragging] = useState(false);
  const dragDepth = useRef(0);
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const lastTop = useRef(0);
  const prevFirst = useRef<number | null>(null);
  const prevHeight = useRef(0);

  const msgs = th?.messages ?? [];
  const firstId = msgs[0]?.id ?? null;
  const lastId = msgs[msgs.length - 1]?.id ?? null;

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (prevFirst.current !== null && firstId !== null && firstId < prevFirst.current) {
      el.scrollTop += el.scrollHeight - prevHeight.current; // older page prepended: keep the view still
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
    prevFirst.current = firstId;
    prevHeight.current = el.scrollHeight;
  }, [firstId, lastId, msgs.length]);

  // fill the view: when the first page does not overflow, fetch older ones
  useEffect(() => {
    const el = scroller.current;
    if (el && th?.loaded && !th.loading && th.nextBefore !== null && el.scrollHeight <= el.clientHeight + 10) void c.loadOlder(props.id);
  }, [th?.loaded, th?.loading, msgs.length]);

  // The view shrinks when files join the draft and grows when thumbnails
  // load: a reader at the bottom stays at the bottom.
  const stick = () => {
    const el = scroller.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  };
  useEffect(() => {
    const el = scroller.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(stick);
    ro.observe(el);
    return () => ro.disconnect();
  }, [!!conv]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return; // a scroll event that arrives after the view was left
    // At the bottom, or left it by scrolling up; content growing below (a
    // thumbnail loading) moves the bottom away without the reader leaving it.
    if (el.scrollHeight - el.scrollTop - el.clientHeight < 40) atBottom.current = true;
    else if (el.scrollTop < lastTop.current) atBottom.current = false;
    lastTop.current = el.scrollTop;
    prevHeight.current = el.scrollHeight;
    if (el.scrollTop < 80) void c.loadOlder(props.id);
  };

  if (!conv) return <section class="conv-view"><p class="pad">{t('chat.loading')}</p></section>;
  const title = conversationTitle(conv, c.me, c.nameOf);
  const others = (conv.members ?? []).map((m) => m.user_id).filter((u) => u !== c.me);

  const recall = async (m: Message) => {
    try {
      await c.api.recall(m.id);
      c.onEvent({ type: 'message.recalled', conversation_id: m.conversation_id, message_id: m.id });
    } catch (e) {
      setNotice(e instanceof ApiError && e.code === 'recall_expired' ? t('chat.recall_expired') : t('chat.recall_failed', { msg: errMsg(e) }));
    }
  };

  // Files dropped anywhere on the conversation join the draft.
  const hasFiles = (e: DragEvent) => !!e.dataTransfer && [...(e.dataTransfer.types ?? [])].includes('Files');
  const attach = (files: File[]) => {
    const refused = c.uploads.add(props.id, files);
    if (refused > 0) setNotice(t('up.too_many', { n: refused }));
  };
  const dnd = {
    onDragEnter: (e: DragEvent) => { if (!hasFiles(e)) return; e.preventDefault(); dragDepth.current++; setDragging(true); },
    onDragOver: (e: DragEvent) => { if (!hasFiles(e)) return; e.preventDefault(); if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy'; },
    onDragLeave: () => { if (--dragDepth.current <= 0) { dragDepth.current = 0; setDragging(false); } },
    onDrop: (e: DragEvent) => {
      dragDepth.current = 0;
      setDragging(false);
      const files = [...(e.dataTransfer?.files ?? [])];
      if (!files.length) return;
      e.preventDefault();
      attach(files);
    },
  };

  let lastDay = '';
  return (
    <section class="conv-view" aria-label={title} data-testid="conv-view" {...dnd}>
      {dragging && <div class="drop-hint" data-testid="drop-hint"><span>{t('up.drop')}</span></div>}
      <header class="conv-head">
        <a href="#/chat" class="back" aria-label={t('chat.back')}>‹</a>
        <h2 data-testid="conv-title" title={title}>{title}</h2>
        {conv.kind === 'group' && <span class="muted">({conv.members?.length ?? conv.member_count ?? ''})</span>}
        {conv.external && <span class="tag ext" title={t('chat.external_warn')}>{t('list.external')}</span>}
        <span class="grow" />
        <button type="button" onClick={() => setReminders(true)} data-testid="reminders-btn">{t('rem.list')}</button>
        <button type="button" onClick={() => setMembers(true)} data-testid="members-btn">{t('chat.members')}</button>
      </header>
      {conv.external && <p class="banner">{t('chat.external_warn')}</p>}
      <div class="msgs-wrap">
        <div class="msgs" ref={scroller} onScroll={onScroll} onLoadCapture={stick} role="log" aria-live="polite" aria-label={title} data-testid="messages" tabIndex={0}>
          {th?.loaded && th.nextBefore === null && <p class="begin muted">{t('chat.begin')}</p>}
          {th?.loaded && th.nextBefore !== null && (
            <button type="button" class="older" onClick={() => c.loadOlder(props.id)} disabled={th.loading}>{th.loading ? t('chat.loading') : t('chat.older')}</button>
          )}
          {!th?.loaded && <p class="muted pad">{t('chat.loading')}</p>}
          {msgs.map((m) => {
            const d = dayKey(m.created_at);
            const sep = d !== lastDay ? <div class="day-sep" key={'d' + d}><span>{d}</span></div> : null;
            lastDay = d;
            return [sep, <MessageItem key={m.id} client={c} conv={conv} m={m} others={others} onRecall={recall} onForward={setFwd} onReport={setReport} onNotice={setNotice} />];
          })}
        </div>
        <ViewerWatermark user={c.user} />
      </div>
      {notice && <p class="notice" role="status" onClick={() => setNotice('')}>{notice}</p>}
      <Composer client={c} conv={conv} onAttach={attach} />
      {fwd && <ForwardDialog client={c} message={fwd} onClose={() => setFwd(null)} />}
      {report && <ReportDialog client={c} message={report} onClose={() => setReport(null)} onDone={setNotice} />}
      {members && <MembersDialog client={c} conv={conv} onClose={() => setMembers(false)} />}
      {reminders && <RemindersDialog client={c} conv={conv} onClose={() => setReminders(false)} />}
    </section>
  );
}

/** The text of a message with an inbound warning: the flagged links are
 * plain text until the reader acknowledges the risk, then open in a new
 * tab without the referrer. */
function GuardedText(props: { text: string; m: Message; revealed: boolean }) {
  const w = props.m.inbound_warning!;
  const segs = segmentsOf(props.text, w.findings);
  return (
    <div class="text" data-testid="message-text">
      {segs.map((sg, i) => {
        if (!sg.finding) return <span key={i}>{sg.text}</span>;
        const link = sg.finding.category === 'link' && /^https?:\/\//i.test(sg.text);
        if (props.revealed && link) return <a key={i} class="risky-link" href={sg.text} target="_blank" rel="noopener noreferrer nofollow" data-testid="revealed-link">{sg.text}</a>;
        return <span key={i} class="unsafe-link" title={t('inb.hidden_link')} data-testid="unsafe-link">{sg.text}</span>;
      })}
    </div>
  );
}

/** The banner over a message an external sender sent in (inbound_warning):
 * what is wrong, "show the links" (a confirm), and a one-step report. */
function InboundBanner(props: { client: Client; m: Message; revealed: boolean; onReveal: () => void; onNotice: (s: string) => void }) {
  const w = props.m.inbound_warning!;
  const [busy, setBusy] = useState(false);
  const hasLink = w.findings.some((f) => f.category === 'link');
  const report = async () => {
    setBusy(true);
    try {
      await props.client.api.report({ message_id: props.m.id, note: t('inb.auto_note') });
      props.onNotice(t('inb.reported'));
    } catch (e) {
      props.onNotice(errMsg(e));
      setBusy(false);
    }
  };
  return (
    <div class={`inbound act-${w.action}`} role="note" data-testid="inbound-warning">
      <strong>⚠ {hasLink ? t('inb.warn') : t('inb.detail_warn')}</strong>
      {hasLink && <p class="small">{props.revealed ? t('inb.revealed') : t('inb.detail')}</p>}
      <div class="row">
        {hasLink && !props.revealed && <button type="button" onClick={props.onReveal} data-testid="inbound-reveal">{t('inb.reveal')}</button>}
        <button type="button" class="danger" disabled={busy} onClick={report} data-testid="inbound-report">{t('inb.report')}</button>
      </div>
    </div>
  );
}

function MessageItem(props: { client: Client; conv: Conversation; m: Message; others: number[]; onRecall: (m: Message) => void; onForward: (m: Message) => void; onReport: (m: Message) => void; onNotice: (s: string) => void }) {
  const { client: c, m, conv } = props;
  const mine = m.sender_id === c.me;
  const [revealed, setRevealed] = useState(false);
  const warned = !mine && !!m.inbound_warning && m.text !== null;
  const th = c.thread(conv.id);
  const [, tick] = useState(0);
  const canRecall = mine && !m.recalled && Date.now() - m.created_at < RECALL_WINDOW_MS;
  useEffect(() => {
    if (!canRecall) return;
    const tm = setTimeout(() => tick((x) => x + 1), RECALL_WINDOW_MS - (Date.now() - m.created_at) + 50);
    return () => clearTimeout(tm);
  }, [canRecall]);
  if (m.recalled && m.contained) {
    return <div class="sys-line" data-testid="contained" data-msg-id={m.id}>{t(`chat.contained.${m.contained}`)}</div>;
  }
  if (m.recalled) {
    return <div class="sys-line" data-testid="recalled" data-msg-id={m.id}>{mine ? t('chat.recalled_me') : t('chat.recalled_other', { name: c.nameOf(m.sender_id) })}</div>;
  }
  if (m.withheld) {
    return <div class="sys-line" data-testid="withheld" data-msg-id={m.id}>{t('chat.withheld')}</div>;
  }
  let receipt = '';
  if (mine) {
    const n = readCount(th, m.id, props.others);
    if (conv.kind === 'direct') receipt = n > 0 ? t('chat.read_all') : isDelivered(th, m.id) ? t('chat.delivered') : t('chat.unread');
    else receipt = n > 0 ? (n >= props.others.length ? t('chat.read_all') : t('chat.read_n', { n })) : isDelivered(th, m.id) ? t('chat.delivered') : '';
  }
  return (
    <article class={`msg ${mine ? 'mine' : 'theirs'}`} data-testid="message" data-msg-id={m.id}>
      {!mine && <div class="sender">{c.nameOf(m.sender_id)}</div>}
      <div class="bubble">
        {m.forward && <div class="fwd-label">{t('chat.forwarded', { name: c.nameOf(m.forward.original_sender_id) })}</div>}
        {warned && <InboundBanner client={c} m={m} revealed={revealed} onReveal={() => setRevealed(true)} onNotice={props.onNotice} />}
        {m.burn ? <BurnBubble client={c} m={m} mine={mine} /> : m.kind === 'reminder' ? <ReminderBubble client={c} m={m} /> : m.kind === 'card' ? <ContactBubble client={c} m={m} /> : warned ? <GuardedText text={m.text!} m={m} revealed={revealed} /> : (m.text || !m.attachments?.length) && <div class="text" data-testid="message-text">{m.text}</div>}
        {!!m.attachments?.length && <Attachments atts={m.attachments} client={c} wm={{ name: c.user.display_name || c.user.login, account: `${c.user.login} (#${c.user.id})`, date: dayKey(Date.now()) }} />}
        {m.masked && <div class="masked-label" title={t('chat.masked')}>{t('chat.masked')}</div>}
      </div>
      <div class="meta">
        <time dateTime={new Date(m.created_at).toISOString()} title={formatDateTime(m.created_at)}>{formatShort(m.created_at, Date.now())}</time>
        {receipt && <span class="receipt" data-testid="receipt">{receipt}</span>}
        {!m.burn && <button type="button" class="link" onClick={() => props.onForward(m)} data-testid="forward-btn">{t('chat.forward')}</button>}
        {canRecall && <button type="button" class="link" onClick={() => props.onRecall(m)} data-testid="recall-btn">{t('chat.recall')}</button>}
        {!mine && <button type="button" class="link" onClick={() => props.onReport(m)} data-testid="report-btn">{t('chat.report')}</button>}
      </div>
    </article>
  );
}

type Pending =
  | { k: 'confirm'; text: string; guard: GuardOutcome; clientId: string; fileIds: string[]; keys: string[] }
  | { k: 'block'; text: string; guard: GuardOutcome; message: string }
  | null;

function Composer(props: { client: Client; conv: Conversation; onAttach: (files: File[]) => void }) {
  const c = props.client;
  const all = useStore(c.uploads.items);
  const files = all.filter((p) => p.conv === props.conv.id);
  const sendable = checkSend(files);
  const picker = useRef<HTMLInputElement>(null);
  const [text, setText] = useState('');
  const [check, setCheck] = useState<{ text: string; g: GuardOutcome } | null>(null);
  const [checking, setChecking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [pending, setPending] = useState<Pending>(null);
  const [after, setAfter] = useState<{ kind: 'mask' | 'warn'; text: string; guard: GuardOutcome } | null>(null);
  const [err, setErr] = useState('');
  const [burn, setBurn] = useState(false);
  const [cardDlg, setCardDlg] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  const seq = useRef(0);

  // debounced pre-check while typing
  useEffect(() => {
    const draft = text;
    // Over the limit the server refuses the check too; the counter says why.
    if (!draft.trim() || utf8Length(draft) > c.maxMessageBytes) {
      setCheck(null);
      setChecking(false);
      return;
    }
    const my = ++seq.current;
    setChecking(true);
    const tm = setTimeout(async () => {
      try {
        const g = await c.api.guardCheck(draft, props.conv.id);
        if (my === seq.current) setCheck({ text: draft, g });
      } catch (e) {
        /* the check is advisory; sending still goes through the guard. A
         * refusal for size still tells the composer the server's limit. */
        if (e instanceof ApiError && e.code === 'message_too_large' && e.detail?.max) c.maxMessageBytes = e.detail.max;
      } finally {
        if (my === seq.current) setChecking(false);
      }
    }, 400);
    return () => clearTimeout(tm);
  }, [text, props.conv.id]);

  const done = (sentText: string, g: GuardOutcome, shown: string) => {
    setText('');
    setCheck(null);
    if (g.verdict === 'mask') setAfter({ kind: 'mask', text: shown, guard: g });
    else if (g.verdict === 'warn') setAfter({ kind: 'warn', text: sentText, guard: g });
    else setAfter(null);
    area.current?.focus();
  };

  const send = async () => {
    const body = text;
    if ((!body.trim() && !files.length) || busy) return;
    if (utf8Length(body) > c.maxMessageBytes) return setErr(t('composer.too_long', { chars: hanziFor(c.maxMessageBytes) }));
    // Files go with the message only once the guard has seen them all.
    if (files.length && !sendable.ok) return setErr(sendable.blocked ? t('up.remove_blocked') : sendable.tooMany ? t('err.too_many_attachments') : t('up.wait'));
    const fileIds = sendable.fileIds;
    const keys = files.map((p) => p.key);
    setBusy(true);
    setErr('');
    const clientId = newClientId();
    try {
      const r = await c.send(props.conv.id, body, undefined, clientId, burn, fileIds);
      c.uploads.sent(keys);
      done(body, r.guard, r.message.text ?? '');
    } catch (e) {
      if (e instanceof ApiError && e.code === 'guard_confirm' && e.guard) setPending({ k: 'confirm', text: body, guard: e.guard, clientId, fileIds, keys });
      else if (e instanceof ApiError && e.code === 'guard_blocked' && e.guard) setPending({ k: 'block', text: body, guard: e.guard, message: e.message });
      else {
        if (e instanceof ApiError && e.code === 'message_too_large' && e.detail?.max) c.maxMessageBytes = e.detail.max;
        setErr(errMsg(e));
      }
    } finally {
      setBusy(false);
    }
  };

  const g = check && check.text === text ? check.g : null;
  const rule = g?.decided_by ? policyRuleLabel(g.decided_by) : '';
  // The server's limit is in UTF-8 bytes; a writer counts characters, so
  // the counter shows both, and turns red before the server says no.
  const bytes = utf8Length(text);
  const over = bytes > c.maxMessageBytes;
  return (
    <div class="composer">
      {after && (
        <div class={`after after-${after.kind}`} role="status" data-testid={`after-${after.kind}`}>
          <div class="row"><strong>{after.kind === 'mask' ? t('guard.mask_notice') : t('guard.warn_notice')}</strong><span class="grow" /><button type="button" class="link" onClick={() => setAfter(null)}>{t('common.close')}</button></div>
          {after.kind === 'mask' ? <div class="masked-preview" data-testid="masked-preview">{after.text}</div> : <FindingList findings={after.guard.findings} text={after.text} />}
        </div>
      )}
      {g && g.findings.length > 0 && (
        <div class={`precheck v-${g.verdict}`} data-testid="precheck" data-verdict={g.verdict} aria-live="polite">
          <div class="pc-head">
            <strong>{t('composer.found', { n: g.findings.length })}</strong>
            <span class="pc-verdict">
              {g.verdict === 'block' ? t('composer.will_block', { rule }) : g.verdict === 'confirm' ? t('composer.will_confirm') : g.verdict === 'mask' ? t('composer.will_mask') : t('composer.will_warn')}
            </span>
            {g.status !== 'scanned' && <span class="tag evasion">{t('guard.partial')}</span>}
          </div>
          <Highlighted text={text} findings={g.findings} />
          <FindingList findings={g.findings} text={text} />
        </div>
      )}
      {err && <p class="error" role="alert">{err}</p>}
      <PendingTray client={c} list={files} />
      <div class="compose-tools">
        <button type="button" class={`tool ${burn ? 'on' : ''}`} aria-pressed={burn} onClick={() => setBurn(!burn)} data-testid="burn-toggle" title={t('burn.toggle_hint')}>{t('burn.toggle')}</button>
        <button type="button" class="tool" onClick={() => setCardDlg(true)} data-testid="card-btn">{t('card.share')}</button>
      </div>
      {cardDlg && <CardDialog client={c} conv={props.conv} onClose={() => setCardDlg(false)} />}
      <div class="compose-row">
        <input
          type="file"
          multiple
          ref={picker}
          class="sr-only"
          tabIndex={-1}
          aria-hidden="true"
          data-testid="file-input"
          onChange={(e) => {
            const l = [...(e.currentTarget.files ?? [])];
            e.currentTarget.value = '';
            if (l.length) props.onAttach(l);
          }}
        />
        <button type="button" class="attach" onClick={() => picker.current?.click()} aria-label={t('up.attach')} title={t('up.attach')} disabled={files.length >= MAX_ATTACHMENTS} data-testid="attach">
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path d="M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" /></svg>
        </button>
        <label for="composer" class="sr-only">{t('composer.label')}</label>
        <textarea
          id="composer"
          ref={area}
          rows={2}
          value={text}
          placeholder={t('composer.placeholder')}
          data-testid="composer"
          onInput={(e) => setText(e.currentTarget.value)}
          onPaste={(e) => {
            // A pasted screenshot or copied file joins the draft; pasted text stays text.
            const l = [...(e.clipboardData?.files ?? [])];
            if (!l.length) return;
            e.preventDefault();
            props.onAttach(l);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !(e as KeyboardEvent).ctrlKey) {
              e.preventDefault();
              void send();
            }
          }}
        />
        <div class="compose-side">
          {bytes > c.maxMessageBytes / 2 && (
            <span class={`char-count ${over ? 'over' : 'muted'}`} data-testid="char-count" data-over={String(over)} title={t('composer.count_title', { chars: hanziFor(c.maxMessageBytes) })}>
              {t('composer.count', { n: bytes, max: c.maxMessageBytes })}
            </span>
          )}
          <span class="pc-state muted" aria-live="polite">{checking ? t('composer.checking') : g && g.findings.length === 0 ? t('composer.clean') : ''}</span>
          <button type="button" class="primary" onClick={send} disabled={busy || (!text.trim() && !files.length) || over || (files.length > 0 && !sendable.ok)} data-testid="send">{busy ? t('composer.sending') : t('composer.send')}</button>
        </div>
      </div>
      {pending?.k === 'confirm' && (
        <ConfirmDialog text={pending.text} guard={pending.guard} onCancel={() => setPending(null)} onSend={async (j) => {
          try {
            const r = await c.send(props.conv.id, pending.text, j, pending.clientId, burn, pending.fileIds);
            c.uploads.sent(pending.keys);
            setPending(null);
            done(pending.text, r.guard, r.message.text ?? '');
          } catch (e) {
            if (e instanceof ApiError && e.code === 'guard_blocked' && e.guard) setPending({ k: 'block', text: pending.text, guard: e.guard, message: e.message });
            else throw e;
          }
        }} />
      )}
      {pending?.k === 'block' && <BlockDialog text={pending.text} guard={pending.guard} message={pending.message} onClose={() => { setPending(null); area.current?.focus(); }} />}
    </div>
  );
}

