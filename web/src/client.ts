// The signed-in session: the API, the live connection and the state the
// views render. One instance per sign-in.
import { Api, ApiError, newClientId, normAlert, type SendResult } from './api';
import {
  Store, applyConversationUpdate, applyDelivered, applyNewMessage, applyPage, applyRead, applyRecall,
  applyRecallToList, applyRestoredToList, clearUnread, emptyThread, mergeMessages, seedReceipts, sortConversations,
  type Thread,
} from './store';
import type { Alert, Conversation, DirUser, Message, ServerEvent, User } from './types';
import { Live, wsUrl, type WsState } from './ws';
import { getLang, translate } from './i18n';
import { addNote, applyBurned, noteFromCard, type ReminderNote } from './work';
import { Uploader } from './uploader';

export class Client {
  readonly conversations = new Store<Conversation[]>([]);
  readonly threads = new Store<Record<number, Thread>>({});
  readonly directory = new Store<Map<number, DirUser>>(new Map());
  readonly conn = new Store<WsState>('connecting');
  readonly openId = new Store<number | null>(null);
  /** Live alerts pushed since sign-in (officers/admins), newest first. */
  readonly liveAlerts = new Store<Alert[]>([]);
  readonly alertListeners = new Set<(a: Alert, isNew: boolean) => void>();
  /** Called after a `sync`: what a view read itself (the console's alert list) may be stale. */
  readonly syncListeners = new Set<() => void>();
  private syncTimer: ReturnType<typeof setTimeout> | null = null;
  /** reminder.due notifications not yet dismissed, newest first (the banner in the chat view) */
  readonly reminderNotes = new Store<ReminderNote[]>([]);
  /** messages whose reminder banner was raised (addNote) */
  private reminderSeen = new Set<number>();
  /** reminder.created|updated|deleted|fired seen, per conversation: an open reminders list reads itself again */
  readonly reminderChanges = new Store<Record<number, number>>({});
  /** burn messages this session opened (their text is never kept past the visible time) */
  readonly burnOpened = new Store<Set<number>>(new Set());
  /** limits.max_message_bytes: the server's default until a refusal says
   * otherwise (422 message_too_large carries the limit as `max`). */
  maxMessageBytes = 16384;
  /** Photos and files attached to drafts, uploading or waiting for the guard. */
  readonly uploads: Uploader;
  private live: Live | null = null;
  private readTimer: ReturnType<typeof setTimeout> | null = null;
  private unreadTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(public api: Api, public user: User, private onEnd: () => void) {
    this.uploads = new Uploader(api, user.id);
  }

  get me(): number {
    return this.user.id;
  }
  get isOfficer(): boolean {
    return this.user.role === 'officer' || this.user.role === 'admin';
  }

  async start(): Promise<void> {
    this.live = new Live({
      url: wsUrl(location),
      onEvent: (e) => this.onEvent(e),
      onState: (s) => this.conn.set(s),
      onResync: () => void this.resync(),
      onSessionEnd: () => void this.checkSession(),
    });
    this.live.start();
    void this.uploads.restore();
    await Promise.all([this.loadDirectory(), this.loadConversations()]);
  }

  stop(): void {
    this.live?.stop();
    this.live = null;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    this.uploads.stop();
  }

  private async checkSession(): Promise<void> {
    try {
      await this.api.me();
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
        this.stop();
        this.onEnd();
      }
    }
  }

  async loadDirectory(): Promise<void> {
    try {
      const { users } = await this.api.directory();
      const m = new Map<number, DirUser>();
      for (const u of users) m.set(u.id, u);
      if (!m.has(this.me)) m.set(this.me, { id: this.me, login: this.user.login, display_name: this.user.display_name, external: this.user.external });
      this.directory.set(m);
    } catch {
      /* the directory is a nicety */
    }
  }

  nameOf = (id: number | null | undefined): string => {
    if (id === null || id === undefined) return '—';
    const u = this.directory.get().get(id);
    return u ? u.display_name || u.login : `#${id}`;
  };

  /** stale: members kept from before are re-read where the count changed (after a `sync`). */
  async loadConversations(stale = false): Promise<void> {
    const { conversations } = await this.api.conversations();
    const known = new Map(this.conversations.get().map((c) => [c.id, c]));
    const keep = (c: Conversation): Conversation['members'] => {
      const m = known.get(c.id)?.members;
      return stale && m && c.member_count !== undefined && m.length !== c.member_count ? undefined : m;
    };
    this.conversations.set(sortConversations(conversations.map((c) => ({ ...c, members: c.members ?? keep(c) }))));
    // The list carries member_count only: fetch the members (titles of direct chats, receipts).
    const missing = conversations.filter((c) => !c.members && !keep(c)).map((c) => c.id);
    const worker = async () => {
      for (let id = missing.shift(); id !== undefined; id = missing.shift()) await this.refreshConversation(id).catch(() => undefined);
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }

  /** GET /conversations/{id}: members (with read_id/delivered_id) into the list and the thread's receipts. */
  async refreshConversation(id: number): Promise<void> {
    const conv = await this.api.conversation(id);
    this.conversations.update((l) => l.map((c) => (c.id === id ? { ...c, ...conv, unread: c.unread, last_message: c.last_message } : c)));
    this.setThread(id, (t) => seedReceipts(t, conv, this.me));
  }

  /** After a reconnect or a `resync`: reload the list and the newest page of open threads;
   * what the console and the uploads read themselves is stale too (events missed while away). */
  async resync(): Promise<void> {
    await this.loadConversations().catch(() => undefined);
    const open = this.openId.get();
    for (const id of Object.keys(this.threads.get()).map(Number)) {
      if (id === open) await this.loadNewest(id).catch(() => undefined);
      else this.threads.update((t) => ({ ...t, [id]: { ...emptyThread() } }));
    }
    void this.uploads.sync();
    for (const f of this.syncListeners) f();
  }

  /** After a `sync` (a bus gap the server filled, socket still open): what the
   * bus carried and the messages do not — titles, members, read receipts,
   * alerts, uploads' states — read again, spread over the server's spread_ms. */
  private syncSoon(spreadMs: number): void {
    if (this.syncTimer) return; // one re-read covers a burst of gaps
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      void this.sync();
    }, Math.floor(Math.random() * Math.max(0, Math.min(spreadMs, 10000))));
  }

  async sync(): Promise<void> {
    await this.loadConversations(true).catch(() => undefined);
    const open = this.openId.get();
    if (open !== null) {
      await this.refreshConversation(open).catch(() => undefined);
      await this.loadNewest(open).catch(() => undefined);
    }
    // threads not open are read afresh when opened (recalls, restores)
    this.threads.update((t) => Object.fromEntries(Object.entries(t).filter(([id]) => Number(id) === open)));
    void this.uploads.sync();
    for (const f of this.syncListeners) f();
  }

  thread(id: number): Thread {
    return this.threads.get()[id] ?? emptyThread();
  }

  private setThread(id: number, fn: (t: Thread) => Thread): void {
    this.threads.update((all) => ({ ...all, [id]: fn(all[id] ?? emptyThread()) }));
  }

  async open(id: number | null): Promise<void> {
    this.openId.set(id);
    if (id === null) return;
    this.conversations.update((l) => clearUnread(l, id));
    void this.refreshConversation(id).catch(() => undefined);
    if (!this.thread(id).loaded) await this.loadNewest(id);
    this.markReadSoon(id);
  }

  async loadNewest(id: number): Promise<void> {
    this.setThread(id, (t) => ({ ...t, loading: true }));
    try {
      const r = await this.api.messages(id, null, 50);
      this.setThread(id, (t) => applyPage(t, r.messages, r.next_before, false));
    } catch (e) {
      this.setThread(id, (t) => ({ ...t, loading: false }));
      throw e;
    }
  }

  async loadOlder(id: number): Promise<boolean> {
    const t = this.thread(id);
    if (t.loading || !t.loaded || t.nextBefore === null) return false;
    this.setThread(id, (x) => ({ ...x, loading: true }));
    try {
      const r = await this.api.messages(id, t.nextBefore, 50);
      this.setThread(id, (x) => applyPage(x, r.messages, r.next_before, true));
      return r.messages.length > 0;
    } catch {
      this.setThread(id, (x) => ({ ...x, loading: false }));
      return false;
    }
  }

  markReadSoon(id: number): void {
    if (this.readTimer) clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => {
      this.readTimer = null;
      if (this.openId.get() !== id || document.hidden) return;
      const msgs = this.thread(id).messages;
      const last = [...msgs].reverse().find((m) => m.sender_id !== this.me);
      if (!last) return;
      this.api.markRead(id, last.id).catch(() => undefined);
    }, 300);
  }

  /** An officer removed or held messages (maybe many at once): the server's
   * unread counts leave them out, so take those, once for a burst. */
  private refreshUnreadSoon(): void {
    if (this.unreadTimer) return;
    this.unreadTimer = setTimeout(() => {
      this.unreadTimer = null;
      void this.api.conversations().then(({ conversations }) => {
        const unread = new Map(conversations.map((c) => [c.id, c.unread ?? 0]));
        this.conversations.update((l) => l.map((c) => (unread.has(c.id) && c.id !== this.openId.get() ? { ...c, unread: unread.get(c.id) } : c)));
      }, () => undefined);
    }, 300);
  }

  /** Sends over HTTP (the verdict comes back in the answer; errors carry the guard outcome). */
  async send(cid: number, text: string, justification?: string, clientId = newClientId(), burn = false, attachments?: string[]): Promise<SendResult> {
    const r = await this.api.send(cid, clientId, text, justification, burn, attachments);
    this.addMessage(r.message);
    return r;
  }

  addMessage(m: Message): void {
    this.setThread(m.conversation_id, (t) => (t.loaded ? { ...t, messages: applyPage(t, [m], null, false).messages } : t));
    const before = this.conversations.get();
    if (!before.some((c) => c.id === m.conversation_id)) {
      void this.api.conversation(m.conversation_id).then((c) => {
        this.setThread(c.id, (t) => seedReceipts(t, c, this.me));
        this.conversations.update((l) => applyConversationUpdate(l, { ...c, last_message: m }, this.me));
      }).catch(() => undefined);
      return;
    }
    this.conversations.set(applyNewMessage(before, m, this.me, this.openId.get()));
  }

  /** A reminder's banner, once per card (reminder.due or the card itself),
   * and a system notification when allowed and the page is not in front
   * (a reminder's text passed the guard and is shown in the chat anyway). */
  private remind(n: ReminderNote, reminderId: number): void {
    const before = this.reminderNotes.get();
    const after = addNote(before, n, this.reminderSeen);
    if (after === before) return;
    this.reminderNotes.set(after);
    const N = (globalThis as { Notification?: typeof Notification }).Notification;
    if (N && N.permission === 'granted' && document.hidden) {
      try { new N(translate(getLang(), 'rem.due'), { body: n.text, tag: `reminder-${reminderId}` }); } catch { /* not allowed here */ }
    }
  }

  onEvent(e: ServerEvent): void {
    switch (e.type) {
      case 'message.new': {
        this.addMessage(e.message);
        const n = noteFromCard(e.message, this.me, Date.now());
        if (n) this.remind(n, e.message.reminder!.reminder_id);
        if (this.openId.get() === e.message.conversation_id && e.message.sender_id !== this.me) this.markReadSoon(e.message.conversation_id);
        break;
      }
      case 'message.recalled':
        this.setThread(e.conversation_id, (t) => applyRecall(t, e.message_id, e.contained));
        this.conversations.update((l) => applyRecallToList(l, e.conversation_id, e.message_id, e.contained));
        if (e.contained) this.refreshUnreadSoon();
        break;
      case 'message.restored':
        // re-read the one message as this reader may see it (the history rule)
        void this.api.messages(e.conversation_id, e.message_id + 1, 1).then((r) => {
          const m = r.messages.find((x) => x.id === e.message_id);
          if (!m) return;
          this.setThread(e.conversation_id, (t) => (t.loaded ? { ...t, messages: mergeMessages(t.messages, [m]) } : t));
          this.conversations.update((l) => applyRestoredToList(l, m));
        }, () => undefined);
        break;
      case 'message.burned':
        this.setThread(e.conversation_id, (t) => applyBurned(t, e.message_id));
        break;
      case 'reminder.created':
      case 'reminder.updated':
      case 'reminder.deleted':
      case 'reminder.fired':
        this.reminderChanges.update((m) => ({ ...m, [e.conversation_id]: (m[e.conversation_id] ?? 0) + 1 }));
        break;
      case 'reminder.due':
        this.remind({ conversation_id: e.conversation_id, message_id: e.message_id, text: e.text, late: e.late }, e.reminder_id);
        break;
      case 'receipt':
        if (e.kind === 'read') this.setThread(e.conversation_id, (t) => applyRead(t, e.user_ids ?? [], e.message_id));
        else this.setThread(e.conversation_id, (t) => applyDelivered(t, e.message_id));
        break;
      case 'conversation.updated':
        this.conversations.update((l) => applyConversationUpdate(l, e.conversation, this.me));
        break;
      case 'member.added':
      case 'member.removed':
        if (e.user_id === this.me && e.type === 'member.removed') {
          this.conversations.update((l) => l.filter((c) => c.id !== e.conversation_id));
          if (this.openId.get() === e.conversation_id) this.openId.set(null);
        } else if (!this.directory.get().has(e.user_id)) {
          void this.loadDirectory();
        }
        break;
      case 'alert.new':
      case 'alert.updated': {
        const isNew = e.type === 'alert.new';
        const a = normAlert(e.alert);
        this.liveAlerts.update((l) => [a, ...l.filter((x) => x.id !== a.id)].slice(0, 500));
        for (const f of this.alertListeners) f(a, isNew);
        break;
      }
      case 'upload.state':
        this.uploads.onState(e);
        break;
      case 'resync':
        // the server closes the socket next; the reconnect triggers resync()
        break;
      case 'sync':
        this.syncSoon(e.spread_ms ?? 0);
        break;
      case 'session.revoked':
        this.stop();
        this.onEnd();
        break;
      case 'account.changed':
        // The role changed (the socket closes 4002 and reconnects by itself):
        // what this page shows (the console) depends on it, so start afresh.
        void this.api.me().then((u) => {
          if (u.role !== this.user.role) location.reload();
        }, () => undefined);
        break;
      default:
        break;
    }
  }
}
