import { describe, expect, it } from 'vitest';
import {
  Store, applyConversationUpdate, applyNewMessage, applyPage, applyRead, applyRecall, applyRecallToList,
  clearUnread, conversationTitle, emptyThread, filterConversations, mergeMessages, readCount, sortConversations,
} from '../src/store';
import type { Conversation, Message } from '../src/types';

const msg = (id: number, cid = 1, sender = 2, at = id * 1000): Message => ({
  id, conversation_id: cid, sender_id: sender, client_id: 'c' + id, text: 't' + id, created_at: at, masked: false, recalled: false, forward: null,
});
const conv = (id: number, extra: Partial<Conversation> = {}): Conversation => ({
  id, kind: 'direct', title: null, external: false, created_at: id, my_role: 'member',
  members: [{ user_id: 1, role: 'member' }, { user_id: 2, role: 'member' }], unread: 0, last_message: null, ...extra,
});

describe('threads', () => {
  it('merges pages newest-first into an oldest-first unique list', () => {
    let t = applyPage(emptyThread(), [msg(5), msg(4), msg(3)], 3, false);
    expect(t.messages.map((m) => m.id)).toEqual([3, 4, 5]);
    expect(t.nextBefore).toBe(3);
    t = applyPage(t, [msg(2), msg(1)], null, true);
    expect(t.messages.map((m) => m.id)).toEqual([1, 2, 3, 4, 5]);
    expect(t.nextBefore).toBeNull();
    // a refresh of the newest page keeps the older cursor
    t = applyPage(t, [msg(6), msg(5)], 5, false);
    expect(t.messages.map((m) => m.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.nextBefore).toBeNull();
  });
  it('never duplicates a message (live event + HTTP answer)', () => {
    expect(mergeMessages([msg(1), msg(2)], [msg(2), msg(3)]).map((m) => m.id)).toEqual([1, 2, 3]);
  });
  it('recall blanks the text', () => {
    const t = applyRecall(applyPage(emptyThread(), [msg(1)], null, false), 1);
    expect(t.messages[0]).toMatchObject({ recalled: true, text: null });
    expect(applyRecall(t, 99)).toBe(t);
  });
  it('read receipts count readers', () => {
    let t = applyRead(emptyThread(), [2], 5);
    t = applyRead(t, [3], 3);
    t = applyRead(t, [2], 4); // never goes back
    expect(readCount(t, 4, [2, 3])).toBe(1);
    expect(readCount(t, 3, [2, 3])).toBe(2);
    expect(readCount(t, 6, [2, 3])).toBe(0);
  });
});

describe('conversation list', () => {
  it('counts unread only for others\' messages in closed conversations and reorders', () => {
    let l = sortConversations([conv(1), conv(2, { created_at: 99 })]);
    expect(l.map((c) => c.id)).toEqual([2, 1]);
    l = applyNewMessage(l, msg(10, 1, 2, 1000), 1, null);
    expect(l[0]).toMatchObject({ id: 1, unread: 1 });
    l = applyNewMessage(l, msg(11, 1, 1, 1001), 1, null); // mine
    expect(l[0].unread).toBe(1);
    l = applyNewMessage(l, msg(12, 1, 2, 1002), 1, 1); // open
    expect(l[0].unread).toBe(1);
    expect(l[0].last_message?.id).toBe(12);
    l = clearUnread(l, 1);
    expect(l[0].unread).toBe(0);
    l = applyRecallToList(l, 1, 12);
    expect(l[0].last_message).toMatchObject({ recalled: true, text: null });
    expect(applyNewMessage(l, msg(13, 77), 1, null)).toBe(l);
  });
  it('updates, adds and drops conversations on conversation.updated', () => {
    let l = [conv(1, { unread: 3, last_message: msg(1) })];
    l = applyConversationUpdate(l, { ...conv(1, { title: 'x' }), unread: undefined, last_message: undefined }, 1);
    expect(l[0]).toMatchObject({ title: 'x', unread: 3 });
    expect(l[0].last_message?.id).toBe(1);
    l = applyConversationUpdate(l, conv(2), 1);
    expect(l.length).toBe(2);
    l = applyConversationUpdate(l, conv(2, { members: [{ user_id: 5, role: 'owner' }] }), 1);
    expect(l.map((c) => c.id)).toEqual([1]);
  });
  it('titles and search', () => {
    const names = (id: number) => ({ 1: '张三', 2: '李四', 3: 'Wang' } as Record<number, string>)[id];
    expect(conversationTitle(conv(1), 1, names)).toBe('李四');
    const g = conv(2, { kind: 'group', title: null, members: [{ user_id: 1, role: 'owner' }, { user_id: 3, role: 'member' }] });
    expect(conversationTitle(g, 1, names)).toBe('张三、Wang');
    const title = (c: Conversation) => conversationTitle(c, 1, names);
    expect(filterConversations([conv(1), g], 'wang', title).map((c) => c.id)).toEqual([2]);
    expect(filterConversations([conv(1), g], ' ', title).length).toBe(2);
  });
});

describe('Store', () => {
  it('notifies subscribers', () => {
    const s = new Store(1);
    const seen: number[] = [];
    const off = s.subscribe((v) => seen.push(v));
    s.set(2);
    s.update((v) => v + 1);
    off();
    s.set(9);
    expect(seen).toEqual([2, 3]);
    expect(s.get()).toBe(9);
  });
});

import { isDelivered, seedReceipts } from '../src/store';
import { normAlert, normAudit } from '../src/api';
describe('server shapes', () => {
  it('seeds receipts from members read_id / delivered_id', () => {
    const c = conv(1, { members: [{ user_id: 1, role: 'member', read_id: 9 }, { user_id: 2, role: 'member', read_id: 4, delivered_id: 6 }] });
    const t = seedReceipts(emptyThread(), c, 1);
    expect(readCount(t, 4, [2])).toBe(1);
    expect(readCount(t, 5, [2])).toBe(0);
    expect(isDelivered(t, 6)).toBe(true);
    expect(isDelivered(t, 7)).toBe(false);
  });
  it('titles a direct chat whose members are not known yet', () => {
    expect(conversationTitle(conv(4, { members: undefined, title: '' }), 1, () => 'x')).toBe('#4');
  });
  it('normalises alerts and audit entries', () => {
    const a = normAlert({ id: 1, status: 'resolved', acked_by: 3, acked_at: 10, ack_comment: 'seen', resolved_by: 4, resolved_at: 20, resolve_comment: 'fine' } as never);
    expect(a).toMatchObject({ comment: 'fine', handled_by: 4, handled_at: 20, findings: [] });
    const b = normAlert({ id: 2, status: 'acked', acked_by: 3, acked_at: 10, ack_comment: null, resolved_by: null, resolved_at: null, resolve_comment: null } as never);
    expect(b).toMatchObject({ comment: null, handled_by: 3, handled_at: 10 });
    expect(normAudit({ seq: 1, time: 5, event: 'auth.login' } as never)).toMatchObject({ created_at: 5, action: 'auth.login' });
  });
});
