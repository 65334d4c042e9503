import { describe, expect, it } from 'vitest';
import { setLang } from '../src/i18n';
import { enWork, zhWork } from '../src/i18n-work';
import { applyPage, emptyThread } from '../src/store';
import type { Message } from '../src/types';
import { applyBurned, workPreview } from '../src/work';

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
  it('both languages word the same keys', () => {
    expect(Object.keys(enWork).sort()).toEqual(Object.keys(zhWork).sort());
  });
});
