import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api, ApiError } from './api';
import { Client } from './client';
import { Login, PasswordChange } from './components/Login';
import { Chat } from './components/Chat';
import { Console } from './console/Console';
import { Account, TotpEnrol } from './components/Account';
import { initialLang, saveLang, setLang, t } from './i18n';
import type { Lang } from './format';
import { useRoute, useStore } from './hooks';
import type { User } from './types';

type Phase = { k: 'loading' } | { k: 'login' } | { k: 'password'; user: User; old?: string; totp?: boolean } | { k: 'totp' } | { k: 'ready'; client: Client };

export function App() {
  const [lang, setL] = useState<Lang>(() => {
    const l = initialLang();
    setLang(l);
    return l;
  });
  const api = useMemo(() => new Api(), []);
  const [phase, setPhase] = useState<Phase>({ k: 'loading' });

  const toLogin = () => setPhase((p) => {
    if (p.k === 'ready') p.client.stop();
    return { k: 'login' };
  });

  const enter = async (user: User) => {
    const c = new Client(api, user, toLogin);
    setPhase({ k: 'ready', client: c });
    try {
      await c.start();
    } catch {
      /* shown by the views */
    }
  };

  useEffect(() => {
    api.onUnauthorized = toLogin;
    api.me().then((u) => (u.must_change_password ? setPhase({ k: 'password', user: u }) : enter(u))).catch((e) => {
      if (e instanceof ApiError && e.code === 'totp_enrolment_required') setPhase({ k: 'totp' });
      else setPhase({ k: 'login' });
    });
  }, []);

  const switchLang = () => {
    const l: Lang = lang === 'zh' ? 'en' : 'zh';
    setLang(l);
    saveLang(l);
    setL(l);
  };

  const langButton = (
    <button type="button" class="lang" onClick={switchLang} aria-label={t('lang.label')} data-testid="lang-switch">{t('lang.switch')}</button>
  );

  if (phase.k === 'loading') return <div class="center">{t('common.loading')}</div>;
  if (phase.k === 'login' || phase.k === 'password' || phase.k === 'totp') {
    return (
      <div class="auth-page" key={lang}>
        <div class="auth-top">{langButton}</div>
        {phase.k === 'login' && (
          <Login api={api} onDone={(u, must, pw, totp) => (must ? setPhase({ k: 'password', user: u, old: pw, totp }) : totp ? setPhase({ k: 'totp' }) : enter(u))} />
        )}
        {phase.k === 'password' && (
          <PasswordChange api={api} forced knownOld={phase.old} onDone={async () => (phase.totp ? setPhase({ k: 'totp' }) : enter(await api.me()))} />
        )}
        {phase.k === 'totp' && <TotpEnrol api={api} onDone={async () => enter(await api.me())} />}
      </div>
    );
  }
  return <Shell key={lang} client={phase.client} langButton={langButton} onLogout={async () => {
    await api.logout().catch(() => undefined);
    phase.client.stop();
    phase.client.uploads.forget();
    location.hash = '';
    setPhase({ k: 'login' });
  }} />;
}

function Shell(props: { client: Client; langButton: preact.JSX.Element; onLogout: () => void }) {
  const c = props.client;
  const route = useRoute();
  const conn = useStore(c.conn);
  const section = route[0] === 'console' && c.isOfficer ? 'console' : route[0] === 'account' ? 'account' : 'chat';
  const liveAlerts = useStore(c.liveAlerts);
  const openCount = liveAlerts.filter((a) => a.status === 'open').length;
  const convs = useStore(c.conversations);
  const unread = convs.reduce((n, x) => n + (x.unread ?? 0), 0);
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Cordon` : 'Cordon';
  }, [unread]);
  return (
    <div class={`shell sec-${section}`}>
      <header class="top">
        <span class="brand">Cordon</span>
        <nav aria-label={t('nav.main')}>
          <a href="#/chat" aria-current={section === 'chat' ? 'page' : undefined} data-testid="nav-chat">{t('nav.chat')}</a>
          {c.isOfficer && (
            <a href="#/console" aria-current={section === 'console' ? 'page' : undefined} data-testid="nav-console">
              {t('nav.console')}{openCount > 0 && <span class="badge" aria-label={t('al.new')}>{openCount}</span>}
            </a>
          )}
          <a href="#/account" aria-current={section === 'account' ? 'page' : undefined}>{t('nav.account')}</a>
        </nav>
        <span class={`conn conn-${conn}`} role="status" data-testid="conn-state" data-state={conn}>{t(`conn.${conn}`)}</span>
        <span class="who" title={c.user.login}>{c.user.display_name || c.user.login}</span>
        {props.langButton}
        <button type="button" onClick={props.onLogout} data-testid="logout">{t('nav.logout')}</button>
      </header>
      <main class="main">
        {section === 'chat' && <Chat client={c} route={route} />}
        {section === 'console' && <Console client={c} route={route} />}
        {section === 'account' && <Account client={c} />}
      </main>
    </div>
  );
}


