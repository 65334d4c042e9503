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
