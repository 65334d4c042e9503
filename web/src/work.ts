// Pure helpers of reminders, contact cards and burn-after-reading
// (components/Work.tsx, client.ts): what the list shows for such a
// message, and a destroyed burn message in a thread.
import { t } from './i18n';
import type { Thread } from './store';
import type { Message } from './types';

/** Summary of a work message for the conversation list (never burn content); null for text. */
export function workPreview(m: Message): string | null {
  if (m.burn) return t('burn.preview');
  if (m.kind === 'card') return t('card.preview');
  if (m.kind === 'reminder') return `${t('rem.preview')} ${m.text ?? ''}`;
  return null;
}

/** A reminder's banner (components/Work.tsx ReminderBanner). */
export interface ReminderNote {
  conversation_id: number;
  message_id: number;
  text: string;
  late: boolean;
}

/** How recent a fired reminder's card must be to raise a banner of itself. */
export const CARD_NOTE_MS = 10 * 60 * 1000;

/** The banner a fired reminder's card gives `me` as it arrives live
 * (message.new), or null: a card that reminds me (its user_ids), sent within
 * CARD_NOTE_MS. reminder.due says the same and usually comes first; the card
 * is what a gap's fill delivers when the bus lost the reminder.due. */
export function noteFromCard(m: Message, me: number, now: number): ReminderNote | null {
  if (m.kind !== 'reminder' || !m.reminder || !m.reminder.user_ids?.includes(me)) return null;
  if (m.recalled || now - m.created_at > CARD_NOTE_MS) return null;
  return { conversation_id: m.conversation_id, message_id: m.id, text: m.text ?? '', late: !!m.reminder.late };
}

/** The banners with n first, at most five — unless n's message already
 * raised one (`seen`: message ids, the caller's; n's id is added), so the
 * card and its reminder.due raise one banner, and a dismissed one stays
 * dismissed. */
export function addNote(list: ReminderNote[], n: ReminderNote, seen: Set<number>): ReminderNote[] {
  if (seen.has(n.message_id)) return list;
  seen.add(n.message_id);
  if (seen.size > 200) seen.delete(seen.values().next().value as number);
  return [n, ...list].slice(0, 5);
}

/** message.burned: the message stays as a "destroyed" marker, with no text. */
export function applyBurned(th: Thread, messageId: number): Thread {
  let hit = false;
  const messages = th.messages.map((m) => {
    if (m.id !== messageId) return m;
    hit = true;
    return { ...m, text: null, burn_destroyed: true };
  });
  return hit ? { ...th, messages } : th;
}
