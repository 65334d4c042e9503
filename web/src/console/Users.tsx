import { useEffect, useState } from 'preact/hooks';
import type { Client } from '../client';
import { formatDateTime } from '../format';
import { t } from '../i18n';
import { errMsg } from '../hooks';
import type { Role, Session, User } from '../types';

/** An account's work phone (contact cards show it masked to those without the right): edit, save, clear. */
function PhoneCell(props: { u: User; onSave: (phone: string) => Promise<void> }) {
  const [v, setV] = useState(props.u.phone ?? '');
  useEffect(() => setV(props.u.phone ?? ''), [props.u.phone]);
  const dirty = v.trim() !== (props.u.phone ?? '');
  return (
    <form class="phone-cell" onSubmit={(e) => { e.preventDefault(); void props.onSave(v.trim()); }}>
      <input type="tel" inputMode="tel" value={v} maxLength={32} placeholder={t('us.phone_none')} aria-label={t('us.phone_of', { login: props.u.login })} onInput={(e) => setV(e.currentTarget.value)} data-testid="user-phone" />
      {dirty && <button type="submit" class="link" data-testid="user-phone-save">{t('us.phone_save')}</button>}
    </form>
  );
}

export function Users(props: { client: Client }) {
  const c = props.client;
  const [users, setUsers] = useState<User[]>([]);
  const [form, setForm] = useState({ login: '', display_name: '', role: 'member', external: false, password: '' });
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [sess, setSess] = useState<{ user: User; list: Session[] } | null>(null);
  const load = () => c.api.adminUsers().then((r) => setUsers(r.users)).catch((e) => setMsg({ ok: false, text: errMsg(e) }));
  useEffect(() => void load(), []);
  const wrap = async (f: () => Promise<string | void>) => {
    try {
      const s = await f();
      setMsg(s ? { ok: true, text: s } : null);
      await load();
      void c.loadDirectory();
    } catch (e) {
      setMsg({ ok: false, text: t('common.error', { msg: errMsg(e) }) });
    }
  };
  return (
    <div class="users">
      <form class="card row wrap" onSubmit={(e) => {
        e.preventDefault();
        void wrap(async () => {
          const r = await c.api.createUser({ login: form.login.trim(), display_name: form.display_name.trim() || undefined, role: form.role, external: form.external, password: form.password || undefined });
          setForm({ login: '', display_name: '', role: 'member', external: false, password: '' });
          return t('us.onetime', { login: r.user.login, pw: r.password });
        });
      }} aria-label={t('us.create')}>
        <label>{t('us.login')}<input value={form.login} required onInput={(e) => setForm({ ...form, login: e.currentTarget.value })} data-testid="nu-login" /></label>
        <label>{t('us.display_name')}<input value={form.display_name} onInput={(e) => setForm({ ...form, display_name: e.currentTarget.value })} maxLength={64} data-testid="nu-name" /></label>
        <label>{t('us.role')}
          <select value={form.role} onChange={(e) => setForm({ ...form, role: e.currentTarget.value })}>
            {(['member', 'officer', 'admin'] as Role[]).map((r) => <option key={r} value={r}>{t(`urole.${r}`)}</option>)}
          </select>
        </label>
        <label class="inline"><input type="checkbox" checked={form.external} onChange={(e) => setForm({ ...form, external: e.currentTarget.checked })} />{t('us.external')}</label>
        <label>{t('us.password')}<input type="password" autocomplete="new-password" value={form.password} onInput={(e) => setForm({ ...form, password: e.currentTarget.value })} /></label>
        <button type="submit" class="primary" data-testid="nu-create">{t('us.create')}</button>
      </form>
      {msg && <p class={msg.ok ? 'ok' : 'error'} role="status" data-testid="users-msg">{msg.text}</p>}
      <table class="grid" data-testid="users-table">
        <thead><tr><th>{t('us.login')}</th><th>{t('us.display_name')}</th><th>{t('us.department')}</th><th>{t('us.role')}</th><th>{t('us.phone')}</th><th>{t('us.external')}</th><th>{t('us.totp')}</th><th>{t('us.status')}</th><th>{t('us.created')}</th><th>{t('us.actions')}</th></tr></thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id} class={u.disabled ? 'disabled' : ''} data-testid="user-row" data-login={u.login}>
              <td>{u.login}</td>
              <td>{u.display_name}</td>
              <td>
                {/* saved when the field is left or Enter is pressed; empty clears it */}
                <input class="dept" aria-label={`${t('us.department')} ${u.login}`} defaultValue={u.department ?? ''} maxLength={64} placeholder={t('us.department_none')} data-testid="user-dept"
                  onKeyDown={(e) => { if (e.key === 'Enter') e.currentTarget.blur(); }}
                  onBlur={(e) => {
                    const v = e.currentTarget.value.trim();
                    if (v !== (u.department ?? '')) void wrap(async () => { await c.api.patchUser(u.id, { department: v || null }); return t('us.department_saved', { login: u.login }); });
                  }} />
              </td>
              <td>
                <select aria-label={`${t('us.role')} ${u.login}`} value={u.role} disabled={u.id === c.me} onChange={(e) => wrap(async () => void (await c.api.patchUser(u.id, { role: e.currentTarget.value })))}>
                  {(['member', 'officer', 'admin'] as Role[]).map((r) => <option key={r} value={r}>{t(`urole.${r}`)}</option>)}
                </select>
              </td>
              <td><PhoneCell u={u} onSave={(phone) => wrap(async () => { await c.api.patchUser(u.id, { phone }); return t('us.phone_saved', { login: u.login }); })} /></td>
              <td>{u.external ? t('common.yes') : t('common.no')}</td>
              <td>{u.totp_enabled ? t('common.yes') : t('common.no')}</td>
              <td>{u.disabled ? t('us.disabled') : t('us.enabled')}</td>
              <td>{formatDateTime(u.created_at)}</td>
              <td class="actions">
                {u.id !== c.me && <button type="button" class="link" onClick={() => (u.disabled || confirm(t('us.confirm_disable', { login: u.login }))) && wrap(async () => void (await c.api.patchUser(u.id, { disabled: !u.disabled })))}>{u.disabled ? t('us.enable') : t('us.disable')}</button>}
                <button type="button" class="link" onClick={() => confirm(t('us.confirm_reset', { login: u.login })) && wrap(async () => t('us.onetime', { login: u.login, pw: (await c.api.resetPassword(u.id)).password }))}>{t('us.reset')}</button>
                <button type="button" class="link" onClick={async () => { try { setSess({ user: u, list: (await c.api.userSessions(u.id)).sessions }); } catch (e) { setMsg({ ok: false, text: errMsg(e) }); } }}>{t('us.sessions')}</button>
                {u.id !== c.me && <button type="button" class="link danger" onClick={() => confirm(t('us.confirm_revoke', { login: u.login })) && wrap(async () => { await c.api.revokeUserSessions(u.id); return t('us.revoked', { login: u.login }); })}>{t('us.revoke')}</button>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {sess && (
        <section class="card">
          <h3>{t('us.sessions')}: {sess.user.login} <button type="button" class="link" onClick={() => setSess(null)}>{t('common.close')}</button></h3>
          <table class="grid">
            <thead><tr><th>{t('se.address')}</th><th>{t('se.agent')}</th><th>{t('se.last_seen')}</th></tr></thead>
            <tbody>{sess.list.map((s) => <tr key={s.id}><td>{s.address}</td><td class="ellipsis mono small">{s.user_agent}</td><td>{formatDateTime(s.last_seen_at)}</td></tr>)}</tbody>
          </table>
        </section>
      )}
    </div>
  );
}
