import { useEffect, useRef, useState } from 'preact/hooks';
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import type { Client } from '../client';
import { userTimeZone } from '../format';
import { categoryLabel, policyRuleLabel, t, verdictLabel } from '../i18n';
import { errMsg, useStore } from '../hooks';
import { lastDays, statsPerDay, statsTopRules, topOverriders } from '../stats';
import type { Alert, AlertStats } from '../types';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

const PERIODS = [7, 14, 30, 90];
const MAX_ALERTS = 2000;
const COLORS: Record<string, string> = {
  marking: '#b3261e', lexicon: '#8e4ec6', pii: '#0b6bcb', secret: '#b25e00', link: '#1b7f5a', uninspectable: '#555',
  block: '#b3261e', confirm: '#b25e00', override: '#8e4ec6', mask: '#0b6bcb', warn: '#a08500', allow: '#1b7f5a',
};
const PALETTE = ['#0b6bcb', '#b3261e', '#1b7f5a', '#b25e00', '#8e4ec6', '#555', '#a08500'];

function BarChart(props: { labels: string[]; datasets: { label: string; data: number[]; color: string }[]; stacked?: boolean; horizontal?: boolean; testid: string; title: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ch = new Chart(canvas.current!, {
      type: 'bar',
      data: { labels: props.labels, datasets: props.datasets.map((d) => ({ label: d.label, data: d.data, backgroundColor: d.color })) },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: props.horizontal ? 'y' : 'x',
        scales: { x: { stacked: props.stacked, ticks: { precision: 0 } }, y: { stacked: props.stacked, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { display: props.datasets.length > 1, position: 'bottom' } },
      },
    });
    return () => ch.destroy();
  }, [JSON.stringify(props.labels), JSON.stringify(props.datasets)]);
  return (
    <figure class="chart card" data-testid={props.testid}>
      <figcaption>{props.title}</figcaption>
      <div class="chart-box"><canvas ref={canvas} role="img" aria-label={props.title} /></div>
    </figure>
  );
}

export function Dashboard(props: { client: Client }) {
  const c = props.client;
  useStore(c.directory);
  const live = useStore(c.liveAlerts);
  const [alerts, setAlerts] = useState<Alert[] | null>(null);
  const [stats, setStats] = useState<AlertStats | null>(null);
  const [DAYS, setDays] = useState(14);
  const [err, setErr] = useState('');
  const tz = userTimeZone();
  const now = Date.now();
  const days = lastDays(DAYS, now, tz);
  // the period's figures, counted by the server; again when a new alert arrives
  useEffect(() => {
    const from = new Date(`${days[0]}T00:00:00`).getTime();
    c.api.stats(Number.isFinite(from) ? from : now - DAYS * 86400000, Date.now() + 1000).then(setStats, (e) => setErr(errMsg(e)));
  }, [DAYS, live.length]);
  useEffect(() => {
    (async () => {
      const since = now - (DAYS + 1) * 86400000;
      const out: Alert[] = [];
      let before: number | undefined;
      try {
        while (out.length < MAX_ALERTS) {
          const r = await c.api.alerts({ since, before, limit: 200 });
          out.push(...r.alerts);
          if (r.next_before === null || r.alerts.length === 0) break;
          before = r.next_before;
        }
        setAlerts(out);
      } catch (e) {
        setErr(errMsg(e));
      }
    })();
  }, [DAYS]);
  if (err) return <p class="error" role="alert">{t('common.error', { msg: err })}</p>;
  if (!alerts || !stats) return <p class="muted">{t('common.loading')}</p>;
  const all = [...live.filter((a) => !alerts.some((x) => x.id === a.id)), ...alerts];
  const byCat = statsPerDay(stats, days, 'category', tz);
  const byAct = statsPerDay(stats, days, 'verdict', tz);
  const rules = statsTopRules(stats);
  const over = topOverriders(all);
  const labels = days.map((d) => d.slice(5));
  const open = all.filter((a) => a.status === 'open').length;
  // departments by alert count, "" (no department) last under its own name
  const deps = Object.entries(stats.by_department ?? {}).sort((x, y) => y[1].count - x[1].count).slice(0, 12);
  const depCats = [...new Set(deps.flatMap(([, v]) => Object.keys(v.by_category)))];
  const groups = (stats.by_group ?? []).slice(0, 10);
  return (
    <div class="dashboard">
      <label class="db-period">{t('db.period')}
        <select value={String(DAYS)} onChange={(e) => setDays(Number(e.currentTarget.value))} data-testid="db-period">
          {PERIODS.map((n) => <option key={n} value={String(n)}>{t('db.days', { n })}</option>)}
        </select>
      </label>
      <div class="stats">
        <div class="stat card"><span class="num" data-testid="stat-total">{stats.total}</span><span>{t('db.total')} · {t('db.days', { n: DAYS })}</span></div>
        <div class="stat card"><span class="num">{open}</span><span>{t('db.open_alerts')}</span></div>
        <div class="stat card"><span class="num">{all.filter((a) => a.kind === 'override').length}</span><span>{t('db.overrides')}</span></div>
      </div>
      <div class="charts">
        <BarChart testid="chart-category" title={t('db.by_category')} stacked labels={labels}
          datasets={Object.entries(byCat.series).map(([k, v], i) => ({ label: categoryLabel(k), data: v, color: COLORS[k] ?? PALETTE[i % PALETTE.length] }))} />
        <BarChart testid="chart-action" title={t('db.by_action')} stacked labels={labels}
          datasets={Object.entries(byAct.series).map(([k, v], i) => ({ label: verdictLabel(k), data: v, color: COLORS[k] ?? PALETTE[i % PALETTE.length] }))} />
        <BarChart testid="chart-rules" title={t('db.top_rules')} horizontal labels={rules.map((r) => policyRuleLabel(r[0]))}
          datasets={[{ label: t('db.top_rules'), data: rules.map((r) => r[1]), color: '#0b6bcb' }]} />
        <BarChart testid="chart-department" title={t('db.by_department')} stacked horizontal labels={deps.map(([d]) => d || t('db.no_department'))}
          datasets={depCats.map((k, i) => ({ label: categoryLabel(k), data: deps.map(([, v]) => v.by_category[k] ?? 0), color: COLORS[k] ?? PALETTE[i % PALETTE.length] }))} />
        <BarChart testid="chart-group" title={t('db.by_group')} horizontal labels={groups.map((g) => (g.kind === 'group' && g.title ? g.title : t('db.direct_conv', { id: g.conversation_id })))}
          datasets={[{ label: t('db.by_group'), data: groups.map((g) => g.count), color: '#1b7f5a' }]} />
        <BarChart testid="chart-overriders" title={t('db.top_overriders')} horizontal labels={over.map((r) => c.nameOf(r[0]))}
          datasets={[{ label: t('db.top_overriders'), data: over.map((r) => r[1]), color: '#8e4ec6' }]} />
      </div>
      <p class="muted small">{t('db.source_server', { n: MAX_ALERTS })}</p>
    </div>
  );
}
