// Naming what alerts and audit entries point at: conversations (officers are
// seldom members, so the server names them in GET /alerts: `conversation`),
// users (linked to their alerts).
import type { Client } from '../client';
import { conversationTitle } from '../store';
import { t } from '../i18n';
import type { Alert, AlertConversation } from '../types';

const known = new Map<number, AlertConversation>();

export function rememberConversations(alerts: Alert[]): void {
  for (const a of alerts) if (a.conversation_id !== null && a.conversation) known.set(a.conversation_id, a.conversation);
}

/** One conversation as the server named it elsewhere (a spread's copies). */
export function rememberConversation(id: number, info: AlertConversation): void {
  known.set(id, info);
}

/** A conversation's name as the officer can read it: the group's title or
 * "A and B" for a direct chat; a conversation the console has not seen
 * named says so with its number. */
export function convName(c: Client, id: number, a?: Alert): string {
  const info = a?.conversation ?? known.get(id);
  if (info) {
    if (info.kind === 'group') return info.title ? t('al.conv_group', { title: info.title }) : t('al.conv_untitled');
    const [x, y] = info.member_ids ?? [];
    if (x !== undefined && y !== undefined) return t('al.conv_direct', { a: c.nameOf(x), b: c.nameOf(y) });
    if (x !== undefined) return c.nameOf(x);
  }
  const mine = c.conversations.get().find((x) => x.id === id);
  if (mine) return conversationTitle(mine, c.me, c.nameOf);
  return t('al.conv_unknown', { id });
}

export function UserLink(props: { client: Client; id: number | null | undefined }) {
  const c = props.client;
  if (props.id === null || props.id === undefined) return <span>—</span>;
  const u = c.directory.get().get(props.id);
  return (
    <span class="user-link">
      <a href={`#/console/alerts/user/${props.id}`} title={t('al.filter_user')} data-testid="user-link">{c.nameOf(props.id)}</a>
      {u && u.display_name && u.display_name !== u.login && <span class="muted"> {u.login}</span>}
      {' '}<a class="muted small" href={`#/console/audit/actor/${props.id}`} data-testid="user-audit-link">{t('al.user_audit')}</a>
      {' '}<a class="muted small" href={`#/console/export/user/${props.id}`} data-testid="user-export-link">{t('con.export')}</a>
    </span>
  );
}
