import { useState } from 'preact/hooks';
import { Api, ApiError } from '../api';
import { t } from '../i18n';
import type { User } from '../types';
import { errMsg } from '../hooks';

export function Login(props: { api: Api; onDone: (u: User, mustChange: boolean, password: string, totpEnrol: boolean) => void }) {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [step, setStep] = useState<'password' | 'totp'>('password');
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErr('');
    try {
      const r = await props.api.login(login.trim(), password, step === 'totp' ? totp.trim() : undefined);
      props.onDone(r.user, r.must_change_password, password, !!r.totp_enrolment_required);
    } catch (x) {
      if (x instanceof ApiError) {
        if (x.code === 'totp_required') {
          setStep('totp');
          setTotp('');
        } else if (x.code === 'totp_invalid') setErr(t('login.totp_invalid'));
        else if (x.code === 'invalid_credentials') setErr(t('login.invalid'));
        else if (x.code === 'rate_limited') setErr(t('login.rate_limited', { s: x.retryAfter ?? 60 }));
        else setErr(t('common.error', { msg: x.message }));
      } else setErr(t('common.error', { msg: errMsg(x) }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card auth" onSubmit={submit} data-testid="login-form">
      <h1>{t('app.name')}</h1>
      <h2>{t('login.title')}</h2>
      {step === 'password' ? (
        <>
          <label for="login-id">{t('login.login')}</label>
          <input id="login-id" name="login" autocomplete="username" value={login} required autofocus onInput={(e) => setLogin(e.currentTarget.value)} />
          <label for="login-pw">{t('login.password')}</label>
          <input id="login-pw" name="password" type="password" autocomplete="current-password" value={password} required onInput={(e) => setPassword(e.currentTarget.value)} />
        </>
      ) : (
        <>
          <p class="hint">{t('login.totp_hint')}</p>
          <label for="login-totp">{t('login.totp')}</label>
          <input id="login-totp" name="totp" inputMode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxLength={6} value={totp} required autofocus onInput={(e) => setTotp(e.currentTarget.value)} />
        </>
      )}
      {err && <p class="error" role="alert">{err}</p>}
      <div class="row">
        {step === 'totp' && <button type="button" onClick={() => setStep('password')}>{t('login.back')}</button>}
        <button type="submit" class="primary" disabled={busy}>{t('login.submit')}</button>
      </div>
    </form>
  );
}

export function PasswordChange(props: { api: Api; forced: boolean; knownOld?: string; onDone: () => void; onCancel?: () => void }) {
  const [oldPw, setOld] = useState(props.knownOld ?? '');
  const [pw, setPw] = useState('');
  const [pw2, setPw2] = useState('');
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setErr('');
    if (pw !== pw2) return setErr(t('pw.mismatch'));
    // The server's rules, said before the round trip where they are plain
    // (the rest come back as a reason code: err.password.<reason>).
    if ([...pw].length < 10) return setErr(t('err.password.too_short'));
    if (pw === oldPw) return setErr(t('err.password.same_as_old'));
    setBusy(true);
    try {
      await props.api.changePassword(oldPw, pw);
      props.onDone();
    } catch (x) {
      if (x instanceof ApiError && x.code === 'invalid_credentials') setErr(t('pw.old_wrong'));
      else if (x instanceof ApiError && x.code === 'invalid') setErr(errMsg(x));
      else setErr(t('common.error', { msg: errMsg(x) }));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card auth" onSubmit={submit} data-testid="password-form">
      <h2>{t('pw.title')}</h2>
      {props.forced && <p class="hint">{t('pw.forced')}</p>}
      <label for="pw-old">{t('pw.old')}</label>
      <input id="pw-old" type="password" autocomplete="current-password" value={oldPw} required onInput={(e) => setOld(e.currentTarget.value)} />
      <label for="pw-new">{t('pw.new')}</label>
      <input id="pw-new" type="password" autocomplete="new-password" value={pw} required autofocus onInput={(e) => setPw(e.currentTarget.value)} />
      <label for="pw-new2">{t('pw.repeat')}</label>
      <input id="pw-new2" type="password" autocomplete="new-password" value={pw2} required onInput={(e) => setPw2(e.currentTarget.value)} />
      {err && <p class="error" role="alert">{err}</p>}
      <div class="row">
        {props.onCancel && <button type="button" onClick={props.onCancel}>{t('guard.cancel')}</button>}
        <button type="submit" class="primary" disabled={busy}>{t('pw.submit')}</button>
      </div>
    </form>
  );
}
