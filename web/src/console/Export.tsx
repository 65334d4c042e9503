// The compliance export (GET /officer/export, docs/API.md "Compliance
// export"): a conversation or a user, a period, a format and a reason; the
// server answers page by page (a cursor in X-Cordon-Next-Cursor), and the
// pages are joined into one downloaded file. Reached from the console tab,
// from an alert's conversation and from a user link
// (#/console/export/conversation/<id>, #/console/export/user/<id>).
import { useState } from 'preact/hooks';
import type { Client } from '../client';
import { t } from '../i18n';
import { errMsg, useStore } from '../hooks';
import { convName } from './names';

const DAY = 86400000;

function isoDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** A local calendar day's first millisecond. */
function dayStart(s: string): number {
  const [y, m, d] = s.split('-').map(Number);
  return new Date(y, (m || 1) - 1, d || 1).getTime();
}

export function Export(props: { client: Client; route: string[] }) {
  const c = props.client;
  const dir = useStore(c.directory);
  const convs = useStore(c.conversations);
  const [kind, setKind] = useState<'conversation' | 'user'>(props.route[2] === 'user' ? 'user' : 'conversation');
  const [convId, setConvId] = useState(props.route[2] === 'conversation' ? props.route[3] ?? '' : '');
  const [userId, setUserId] = useState(props.route[2] === 'user' ? props.route[3] ?? '' : '');
  const [from, setFrom] = useState(isoDay(Date.now() - 30 * DAY));
  const [to, setTo] = useState(isoDay(Date.now()));
  const [format, setFormat] = useState<'jsonl' | 'eml'>('jsonl');
  // the files' bytes go with their messages unless the officer wants names only
  const [files, setFiles] = useState(true);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState<number | null>(null);
  const [done, setDone] = useState('');
  const [err, setErr] = useState('');

  const run = async (e: Event) => {
    e.preventDefault();
    setDone('');
    const target = kind === 'conversation' ? Number(convId) : Number(userId);
    if (!target) return setErr(t('ex.need_target'));
    if (!from || !to || dayStart(from) > dayStart(to)) return setErr(t('ex.need_period'));
    if (!reason.trim()) return setErr(t('sp.reason_required'));
    setErr('');
    const q: Record<string, string | number> = {
      [kind === 'conversation' ? 'conversation_id' : 'user_id']: target,
      from: dayStart(from), to: dayStart(to) + DAY, format, reason: reason.trim(), files: files ? 'true' : 'false',
    };
    const parts: ArrayBuffer[] = [];
    let file = '';
    let cursor = '';
    try {
      for (let page = 0; ; page++) {
        setBusy(page);
        const p = await c.api.exportPage(q, cursor);
        parts.push(p.bytes);
        file ||= p.file;
        if (!p.next) break;
        cursor = p.next;
      }
      const blob = new Blob(parts, { type: format === 'eml' ? 'application/mbox' : 'application/x-ndjson' });
      const text = await blob.text();
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = file;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      const count = (re: RegExp) => String(text.match(re)?.length ?? 0);
      setDone(format === 'jsonl'
        ? t('ex.done', { file, messages: count(/"type":"message"/g), audit: count(/"type":"audit"/g) })
        : t('ex.done_eml', { file, messages: count(/^X-Cordon-Message-Id: /gm) }));
    } catch (x) {
      setErr(errMsg(x));
    } finally {
      setBusy(null);
    }
  };

  const users = [...dir.values()].sort((a, b) => a.display_name.localeCompare(b.display_name));
  return (
    <section class="export" data-testid="export">
      <h2>{t('ex.title')}</h2>
      <p class="muted">{t('ex.intro')}</p>
      <form onSubmit={run} class="ex-form">
        <fieldset>
          <legend>{t('ex.target')}</legend>
          <label><input type="radio" name="ex-kind" checked={kind === 'conversation'} onChange={() => setKind('conversation')} data-testid="export-kind-conversation" /> {t('ex.target.conversation')}</label>
          <label><input type="radio" name="ex-kind" checked={kind === 'user'} onChange={() => setKind('user')} data-testid="export-kind-user" /> {t('ex.target.user')}</label>
        </fieldset>
        {kind === 'conversation' ? (
          <div class="ex-row">
            <label for="ex-conv">{t('ex.conversation')}</label>
            <input id="ex-conv" inputMode="numeric" value={convId} onInput={(e) => setConvId(e.currentTarget.value.replace(/\D/g, ''))} data-testid="export-conversation" />
            {convs.length > 0 && (
              <select aria-label={t('ex.conversation_pick')} value={convs.some((x) => String(x.id) === convId) ? convId : ''} onChange={(e) => setConvId(e.currentTarget.value)}>
                <option value="">{t('ex.conversation_pick')}</option>
                {convs.map((x) => <option key={x.id} value={String(x.id)}>{convName(c, x.id)}</option>)}
              </select>
            )}
            {convId && <span class="muted" data-testid="export-conversation-name">{convName(c, Number(convId))}</span>}
          </div>
        ) : (
          <div class="ex-row">
            <label for="ex-user">{t('ex.user')}</label>
            <select id="ex-user" value={userId} onChange={(e) => setUserId(e.currentTarget.value)} data-testid="export-user">
              <option value="">{t('ex.user_pick')}</option>
              {users.map((u) => <option key={u.id} value={String(u.id)}>{u.display_name && u.display_name !== u.login ? `${u.display_name}（${u.login}）` : u.login}</option>)}
            </select>
          </div>
        )}
        <div class="ex-row">
          <label for="ex-from">{t('ex.from')}</label>
          <input id="ex-from" type="date" value={from} onInput={(e) => setFrom(e.currentTarget.value)} data-testid="export-from" />
          <label for="ex-to">{t('ex.to')}</label>
          <input id="ex-to" type="date" value={to} onInput={(e) => setTo(e.currentTarget.value)} data-testid="export-to" />
        </div>
        <fieldset>
          <legend>{t('ex.format')}</legend>
          <label><input type="radio" name="ex-format" checked={format === 'jsonl'} onChange={() => setFormat('jsonl')} data-testid="export-format-jsonl" /> {t('ex.format.jsonl')}</label>
          <label><input type="radio" name="ex-format" checked={format === 'eml'} onChange={() => setFormat('eml')} data-testid="export-format-eml" /> {t('ex.format.eml')}</label>
        </fieldset>
        <label class="inline"><input type="checkbox" checked={files} onChange={(e) => setFiles(e.currentTarget.checked)} data-testid="export-files" /> {t('ex.files')}</label>
        <label for="ex-reason">{t('ex.reason')}</label>
        <textarea id="ex-reason" rows={2} maxLength={300} value={reason} onInput={(e) => setReason(e.currentTarget.value)} data-testid="export-reason" />
        <div class="row">
          <button type="submit" class="primary" disabled={busy !== null} data-testid="export-submit">{t('ex.submit')}</button>
          {busy !== null && <span class="muted">{t('ex.working', { n: String(busy) })}</span>}
        </div>
      </form>
      {done && <p class="ok" role="status" data-testid="export-done">{done}</p>}
      {err && <p class="error" role="alert" data-testid="export-error">{err}</p>}
    </section>
  );
}
