import type { Client } from '../client';
import { t } from '../i18n';
import { Alerts } from './Alerts';
import { Audit } from './Audit';
import { Dashboard } from './Dashboard';
import { Export } from './Export';
import { Lexicons } from './Lexicons';
import { GuardTest, Policy } from './Policy';
import { Spread } from './Spread';
import { Users } from './Users';
import { ViewerWatermark } from '../components/Watermark';

const TABS = ['dashboard', 'alerts', 'audit', 'export', 'policy', 'lexicons', 'test', 'users'] as const;
const ADMIN_TABS: readonly string[] = ['users', 'policy', 'lexicons'];

export function Console(props: { client: Client; route: string[] }) {
  const c = props.client;
  const tabs = TABS.filter((x) => !ADMIN_TABS.includes(x) || c.user.role === 'admin');
  // #/console/spread/<message id>[/<alert id>]: opened from an alert, so it
  // sits under the alerts tab
  const spreadOf = props.route[1] === 'spread' ? Number(props.route[2]) || 0 : 0;
  // #/console/spread-file/<file id>[/<alert id>]: a file's spread, from a
  // file alert or a file an alert names
  const fileOf = props.route[1] === 'spread-file' && /^[a-z0-9]{1,64}$/.test(props.route[2] ?? '') ? props.route[2] : '';
  const tab = (tabs as readonly string[]).includes(props.route[1]) ? props.route[1] : 'alerts';
  return (
    <div class="console">
      <nav class="tabs" aria-label={t('nav.console')}>
        {tabs.map((x) => <a key={x} href={`#/console/${x}`} aria-current={x === tab ? 'page' : undefined} data-testid={`tab-${x}`}>{t(`con.${x}`)}</a>)}
      </nav>
      <div class="console-wrap">
      <div class="console-body">
        {tab === 'dashboard' && <Dashboard client={c} />}
        {spreadOf > 0 && <Spread client={c} messageId={spreadOf} alertId={Number(props.route[3]) || undefined} />}
        {fileOf && <Spread client={c} fileId={fileOf} alertId={Number(props.route[3]) || undefined} />}
        {tab === 'alerts' && !spreadOf && !fileOf && <Alerts client={c} route={props.route} />}
        {tab === 'audit' && <Audit client={c} route={props.route} />}
        {tab === 'export' && <Export client={c} route={props.route} />}
        {tab === 'policy' && <Policy client={c} />}
        {tab === 'lexicons' && <Lexicons client={c} />}
        {tab === 'test' && <GuardTest client={c} />}
        {tab === 'users' && <Users client={c} />}
      </div>
      <ViewerWatermark user={c.user} />
      </div>
    </div>
  );
}
