// Client state that does not depend on the DOM: conversations, message
// pages per conversation, receipts, merged from HTTP answers and live
// events. Pure functions + a tiny observable so they can be unit-tested.
import type { Conversation, Message } from './types';

export interface Thread {
  /** Messages oldest first, unique by id. */
  messages: Message[];
  /** Cursor for older history; null at the beginning of the conversation. */
  nextBefore: number | null;
  /** True once the first page was loaded. */
  loaded: boolean;
  loading: boolean;
  /** Highest message id each other member has read (read receipts). */
  readBy: Record<number, number>;
  /** Message ids the server reported delivered to at least one recipient. */
  delivered: Record<number, true>;
  /** Everything up to this id was delivered to someone (from delivered_id). */
  deliveredUpTo: number;
}

/** Seeds read receipts and delivery from the members' read_id/delivered_id (GET /conversations/{id}). */
export function seedReceipts(t: Thread, c: Conversation, me: number): Thread {
  const readBy = { ...t.readBy };
  let deliveredUpTo = 0;
  for (const m of c.members ?? []) {
    if (m.user_id === me) continue;
    if (m.read_id) readBy[m.user_id] = Math.max(readBy[m.user_id] ?? 0, m.read_id);
    if (m.delivered_id) deliveredUpTo = Math.max(deliveredUpTo, m.delivered_id);
  }
  return { ...t, readBy, deliveredUpTo: Math.max(t.deliveredUpTo, deliveredUpTo) };
}

export function emptyThread(): Thread {
  return { messages: [], nextBefore: null, loaded: false, loading: false, readBy: {}, delivered: {}, deliveredUpTo: 0 };
}

/** Inserts messages (any order) into an oldest-first list, replacing same ids. */
export function mergeMessages(list: Message[], incoming: Message[]): Message[] {
  if (incoming.length === 0) return list;
  const byId = new Map<number, Message>();
  for (const m of list) byId.set(m.id, m);
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** Applies one page of history (newest first, as the server sends it). */
export function applyPage(t: Thread, page: Message[], nextBefore: number | null, older: boolean): Thread {
  return {
    ...t,
    messages: mergeMessages(t.messages, page),
    nextBefore: older || !t.loaded ? nextBefore : t.nextBefore,
    loaded: true,
    loading: false,
  };
}

export function applyRecall(t: Thread, messageId: number, contained?: Message['contained']): Thread {
  let hit = false;
  const messages = t.messages.map((m) => {
    if (m.id !== messageId) return m;
    hit = true;
    return contained ? { ...m, recalled: true, text: null, contained } : { ...m, recalled: true, text: null };
  });
  return hit ? { ...t, messages } : t;
}

export function applyRead(t: Thread, userIds: number[], messageId: number): Thread {
  const readBy = { ...t.readBy };
  for (const u of userIds) readBy[u] = Math.max(readBy[u] ?? 0, messageId);
  return { ...t, readBy };
}

export function applyDelivered(t: Thread, messageId: number): Thread {
  return { ...t, delivered: { ...t.delivered, [messageId]: true } };
}

export function isDelivered(t: Thread, messageId: number): boolean {
  return !!t.delivered[messageId] || t.deliveredUpTo >= messageId;
}

/** How many of `others` have read a message. */
export function readCount(t: Thread, messageId: number, others: number[]): number {
  let n = 0;
  for (const u of others) if ((t.readBy[u] ?? 0) >= messageId) n++;
  return n;
}

/** Sort key for the conversation list: latest activity first. */
export function activity(c: Conversation): number {
  return c.last_message?.created_at ?? c.created_at;
}

export function sortConversations(list: Conversation[]): Conversation[] {
  return [...list].sort((a, b) => activity(b) - activity(a) || b.id - a.id);
}

/** A message arrived: update last message, unread count (unless it is ours
 *  or the conversation is open) and order. Unknown conversation → unchanged
 *  (the caller fetches it). */
export function applyNewMessage(list: Conversation[], m: Message, me: number, openId: number | null): Conversation[] {
  let found = false;
  const out = list.map((c) => {
    if (c.id !== m.conversation_id) return c;
    found = true;
    const newer = !c.last_message || m.id >= c.last_message.id;
    const bump = m.sender_id !== me && openId !== c.id && newer;
    return {
      ...c,
      last_message: newer ? m : c.last_message,
      unread: (c.unread ?? 0) + (bump ? 1 : 0),
    };
  });
  return found ? sortConversations(out) : list;
}

export function applyConversationUpdate(list: Conversation[], conv: Conversation, me: number): Conversation[] {
  const existing = list.find((c) => c.id === conv.id);
  if (conv.members && !conv.members.some((m) => m.user_id === me)) return list.filter((c) => c.id !== conv.id);
  const merged: Conversation = {
    ...conv,
    members: conv.members ?? existing?.members,
    unread: conv.unread ?? existing?.unread ?? 0,
    last_message: conv.last_message !== undefined ? conv.last_message : existing?.last_message ?? null,
  };
  return sortConversations(existing ? list.map((c) => (c.id === conv.id ? merged : c)) : [...list, merged]);
}

export function applyRecallToList(list: Conversation[], cid: number, mid: number, contained?: Message['contained']): Conversation[] {
  return list.map((c) =>
    c.id === cid && c.last_message?.id === mid ? { ...c, last_message: { ...c.last_message, recalled: true, text: null, ...(contained ? { contained } : {}) } } : c);
}

/** A restored message (an officer lifted a quarantine), as history gives it now. */
export function applyRestoredToList(list: Conversation[], m: Message): Conversation[] {
  return list.map((c) => (c.id === m.conversation_id && c.last_message?.id === m.id ? { ...c, last_message: m } : c));
}

export function clearUnread(list: Conversation[], cid: number): Conversation[] {
  return list.map((c) => (c.id === cid && c.unread ? { ...c, unread: 0 } : c));
}

/** The title shown for a conversation: its title, or the other member's name for a direct one. */
export function conversationTitle(c: Conversation, me: number, names: (id: number) => string): string {
  const members = c.members ?? [];
  if (c.kind === 'group') return c.title || members.map((m) => names(m.user_id)).join('、') || `#${c.id}`;
  const other = members.find((m) => m.user_id !== me);
  return other ? names(other.user_id) : c.title || (members.length ? names(me) : `#${c.id}`);
}

export function filterConversations(list: Conversation[], query: string, title: (c: Conversation) => string): Conversation[] {
  const q = query.trim().toLowerCase();
  if (!q) return list;
  return list.filter((c) => title(c).toLowerCase().includes(q));
}

/** A minimal observable value. */
export class Store<T> {
  private subs = new Set<(v: T) => void>();
  constructor(private value: T) {}
  get(): T {
    return this.value;
  }
  set(v: T): void {
    this.value = v;
    for (const s of [...this.subs]) s(v);
  }
  update(fn: (v: T) => T): void {
    this.set(fn(this.value));
  }
  subscribe(fn: (v: T) => void): () => void {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }
}
