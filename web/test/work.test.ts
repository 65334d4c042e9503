import { describe, expect, it } from 'vitest';
import { setLang } from '../src/i18n';
import { enWork, zhWork } from '../src/i18n-work';
import { applyPage, emptyThread } from '../src/store';
import type { Message } from '../src/types';
import { addNote, applyBurned, CARD_NOTE_MS, noteFromCard, workPreview } from '../src/work';

const msg = (id: number, extra: Partial<Message> = {}): Message => ({
  id, conversation_id: 1, sender_id: 2, client_id: 'c' + id, text: 't' + id, created_at: id, masked: false, recalled: false, forward: null, ...extra,
});

describe('reminders, cards, burn-after-reading', () => {
  it('the list never shows burn content, and names cards and reminders', () => {
    setLang('zh');
    expect(workPreview(msg(1, { burn: true, text: null }))).toBe('[阅后即焚]');
    expect(workPreview(msg(2, { kind: 'card', text: '', card: { user_id: 3 } }))).toBe('[名片]');
    expect(workPreview(msg(3, { kind: 'reminder', text: '开会' }))).toBe('[提醒] 开会');
    expect(workPreview(msg(4))).toBeNull();
    setLang('en');
    expect(workPreview(msg(1, { burn: true, text: null }))).toBe('[burn after reading]');
    setLang('zh');
  });
  it('a destroyed burn message stays as a marker without text', () => {
    const th = applyPage(emptyThread(), [msg(2, { burn: true, text: null }), msg(1)], null, false);
    const after = applyBurned(th, 2);
    expect(after.messages.find((m) => m.id === 2)).toMatchObject({ burn_destroyed: true, text: null });
    expect(applyBurned(th, 99)).toBe(th);
  });
  it('a fired reminder\'s card raises the banner for the people it reminds, once with its reminder.due', () => {
    const card = msg(7, { kind: 'reminder', text: '开会', created_at: 1_000_000, reminder: { reminder_id: 3, due_at: 999_000, late: true, repeat: 'once', target: 'members', user_ids: [5, 6] } });
    // the card a gap's fill delivers, its reminder.due lost: the banner comes from the card
    expect(noteFromCard(card, 5, 1_000_500)).toEqual({ conversation_id: 1, message_id: 7, text: '开会', late: true });
    expect(noteFromCard(card, 9, 1_000_500)).toBeNull(); // not one of its people
    expect(noteFromCard(card, 5, 1_000_000 + CARD_NOTE_MS + 1)).toBeNull(); // an old card: no banner
    expect(noteFromCard(msg(8, { text: '开会' }), 5, 1_000_500)).toBeNull(); // a plain message
    expect(noteFromCard({ ...card, recalled: true, text: null }, 5, 1_000_500)).toBeNull();
    const seen = new Set<number>();
    const one = addNote([], noteFromCard(card, 5, 1_000_500)!, seen);
    expect(one).toHaveLength(1);
    // its reminder.due after the card (or before): still one banner
    expect(addNote(one, { conversation_id: 1, message_id: 7, text: '开会', late: true }, seen)).toBe(one);
    // dismissed, then the other arrives: stays dismissed
    expect(addNote([], { conversation_id: 1, message_id: 7, text: '开会', late: true }, seen)).toEqual([]);
    // another reminder: a banner of its own, newest first, at most five
    let l = one;
    for (let id = 10; id < 16; id++) l = addNote(l, { conversation_id: 1, message_id: id, text: `r${id}`, late: false }, seen);
    expect(l.map((n) => n.message_id)).toEqual([15, 14, 13, 12, 11]);
  });
  it('both languages word the same keys', () => {
    expect(Object.keys(enWork).sort()).toEqual(Object.keys(zhWork).sort());
  });
});
