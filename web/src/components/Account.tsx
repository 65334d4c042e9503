import { useEffect, useState } from 'preact/hooks';
import type { Client } from '../client';
import { formatDateTime, userTimeZone } from '../format';
import { t } from '../i18n';
import { errMsg } from '../hooks';
import type { Session } from '../types';
import { PasswordChange } from './Login';

export function Account(props: { client: Client }) {
  const c = props.client;
  const [sessions, setSessions] = useState<Session[]>([]);
  const [err, setErr] = useState('');
  const [enrol, setEnrol] = useState<{ secret: string; otpauth_uri: string } | null>(null);
  const [code, setCode] = useState('');
  const [totpOn, setTotpOn] = useState(c.user.totp_enabled);
  const [pw, setPw] = useState(false);
  const [msg, setMsg] = useState('');
  const load = () => c.api.sessions().then((r) => setSessions(r.sessions)).catch((e) => setErr(errMsg(e)));
  useEffect(() => void load(), []);
  return (
    <div class="page account">
      <h1>{c.user.display_name} <span class="muted">@{c.user.login} · {t(`urole.${c.user.role}`)}</span></h1>
      <p class="muted">{t('tz.note', { tz: userTimeZone() })}</p>
      {msg && <p class="ok" role="status">{msg}</p>}
      <section>
        <h2>{t('se.change_pw')}</h2>
        {pw ? <PasswordChange api={c.api} forced={false} onCancel={() => setPw(false)} onDone={() => { setPw(false); setMsg(t('pw.done')); }} /> : <button type="button" onClick={() => setPw(true)}>{t('se.change_pw')}</button>}
      </section>
      <section>
        <h2>{t('se.totp')}</h2>
        {totpOn ? <p class="ok">{t('se.totp_on')}</p> : enrol ? (
          <form onSubmit={async (e) => {
            e.preventDefault();
            try {
              await c.api.totpConfirm(code.trim());
              setTotpOn(true);
              setEnrol(null);
            } catch (x) {
              setErr(errMsg(x));
            }
          }}>
            <p>{t('se.totp_secret', { secret: '' })}<code data-testid="totp-secret">{enrol.secret}</code></p>
            <p class="muted mono">{enrol.otpauth_uri}</p>
            <label for="totp-code">{t('se.totp_code')}</label>
            <input id="totp-code" inputMode="numeric" maxLength={6} value={code} onInput={(e) => setCode(e.currentTarget.value)} />
            <button type="submit" class="primary">{t('se.totp_confirm')}</button>
          </form>
        ) : <button type="button" onClick={async () => { try { setEnrol(await c.api.totpEnrol()); } catch (x) { setErr(errMsg(x)); } }}>{t('se.totp_enrol')}</button>}
      </section>
      <section>
        <h2>{t('se.title')}</h2>
        <table class="grid">
          <thead><tr><th>{t('se.address')}</th><th>{t('se.agent')}</th><th>{t('se.last_seen')}</th><th /></tr></thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={s.id}>
                <td>{s.address}</td>
                <td class="ellipsis mono small" title={s.user_agent}>{s.user_agent}</td>
                <td>{formatDateTime(s.last_seen_at)}</td>
                <td>{s.current ? <span class="tag">{t('se.current')}</span> : <button type="button" class="link danger" onClick={async () => { await c.api.revokeSession(s.id).catch((e) => setErr(errMsg(e))); void load(); }}>{t('se.revoke')}</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {err && <p class="error" role="alert">{t('common.error', { msg: err })}</p>}
    </div>
  );
}

/** Shown after sign-in when policy requires two-step verification and it is not enrolled yet. */
export function TotpEnrol(props: { api: Client['api']; onDone: () => void }) {
  const [enrol, setEnrol] = useState<{ secret: string; otpauth_uri: string } | null>(null);
  const [code, setCode] = useState('');
  const [err, setErr] = useState('');
  useEffect(() => {
    props.api.totpEnrol().then(setEnrol).catch((e) => setErr(errMsg(e)));
  }, []);
  return (
    <form class="card auth" data-testid="totp-enrol" onSubmit={async (e) => {
      e.preventDefault();
      try {
        await props.api.totpConfirm(code.trim());
        props.onDone();
      } catch (x) {
        setErr(t('login.totp_invalid') + ' ' + errMsg(x));
      }
    }}>
      <h2>{t('se.totp_enrol')}</h2>
      <p class="hint">{t('se.totp_required')}</p>
      {enrol && <p>{t('se.totp_secret', { secret: enrol.secret })}</p>}
      {enrol && <p class="muted mono small">{enrol.otpauth_uri}</p>}
      <label for="totp-enrol-code">{t('se.totp_code')}</label>
      <input id="totp-enrol-code" inputMode="numeric" maxLength={6} value={code} required autofocus onInput={(e) => setCode(e.currentTarget.value)} />
      {err && <p class="error" role="alert">{err}</p>}
      <button type="submit" class="primary">{t('se.totp_confirm')}</button>
    </form>
  );
}
