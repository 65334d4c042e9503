import { useEffect, useState } from 'preact/hooks';
import type { Client } from '../client';
import type { LexiconInfo } from '../api';
import { formatDateTime } from '../format';
import { t } from '../i18n';
import { CodeEditor } from '../components/CodeEditor';
import { formatBytes, lexiconNameOk } from './editing';
import { failure, policyInfo, type EditMsg } from './Policy';

/** What a new lexicon starts with: the format, as comments (docs/LEXICON.md). */
const TEMPLATE = '# term<TAB>category<TAB>severity (info|low|medium|high|critical)\n# !phrase = allow-list entry\n';

/** The managed lexicons (<data_dir>/lexicons/*.tsv): list, view, edit, add, delete. */
export function Lexicons(props: { client: Client }) {
  const c = props.client;
  const [list, setList] = useState<LexiconInfo[]>([]);
  const [open, setOpen] = useState<{ name: string; isNew: boolean } | null>(null);
  const [text, setText] = useState('');
  const [newName, setNewName] = useState('');
  const [msg, setMsg] = useState<EditMsg | null>(null);
  const [busy, setBusy] = useState(false);
  const [sure, setSure] = useState(false);
  const load = async () => {
    try {
      setList((await c.api.lexicons()).lexicons);
    } catch (e) {
      setMsg(failure(e, 'lx.invalid'));
    }
  };
  useEffect(() => void load(), []);
  const act = async (f: () => Promise<EditMsg | null>) => {
    setBusy(true);
    try {
      setMsg(await f());
    } catch (e) {
      setMsg(failure(e, 'lx.invalid'));
    } finally {
      setBusy(false);
    }
  };
  const show = (name: string) => act(async () => {
    const l = await c.api.lexicon(name);
    setOpen({ name, isNew: false });
    setText(l.text);
    setSure(false);
    return null;
  });
  const add = (e: Event) => {
    e.preventDefault();
    const name = newName.trim();
    if (!lexiconNameOk(name)) {
      setMsg({ ok: false, text: t('lx.bad_name'), line: null });
      return;
    }
    if (list.some((l) => l.name === name && !l.read_only)) return void show(name);
    setOpen({ name, isNew: true });
    setText(TEMPLATE);
    setNewName('');
    setSure(false);
    setMsg(null);
  };
  const validate = () => act(async () => {
    const r = await c.api.validateLexicon(open!.name, text);
    return { ok: true, text: t('lx.valid', { info: policyInfo(r.info) }), line: null };
  });
  const save = () => act(async () => {
    const r = await c.api.saveLexicon(open!.name, text);
    setOpen({ name: open!.name, isNew: false });
    await load();
    return { ok: true, text: t('lx.saved', { name: open!.name, info: policyInfo(r.info) }), line: null };
  });
  const del = () => act(async () => {
    if (!sure) {
      setSure(true);
      return null;
    }
    await c.api.deleteLexicon(open!.name);
    const name = open!.name;
    setOpen(null);
    setSure(false);
    await load();
    return { ok: true, text: t('lx.deleted', { name }), line: null };
  });
  return (
    <div class="lexicons">
      <p class="muted">{t('lx.hint')}</p>
      <table class="grid" data-testid="lexicon-table">
        <thead><tr><th>{t('lx.name')}</th><th>{t('lx.terms')}</th><th>{t('lx.size')}</th><th>{t('lx.updated')}</th><th /></tr></thead>
        <tbody>
          {list.length === 0 && <tr><td colSpan={5} class="muted">{t('lx.none')}</td></tr>}
          {list.map((l) => (
            <tr key={l.path} data-testid="lexicon-row" data-name={l.name} class={open?.name === l.name && !l.read_only ? 'sel' : ''}>
              <td class="mono">{l.name}{l.read_only && <span class="muted" title={l.path}> · {t('lx.read_only')}</span>}</td>
              <td>{l.terms}</td>
              <td>{formatBytes(l.bytes)}</td>
              <td>{l.updated ? formatDateTime(l.updated) : ''}</td>
              <td class="actions">{!l.read_only && <button type="button" class="link" onClick={() => void show(l.name)} data-testid="lexicon-open">{t('lx.open')}</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="row lx-new" onSubmit={add}>
        <label for="lx-new-name">{t('lx.new')}</label>
        <input id="lx-new-name" class="mono" value={newName} placeholder="projects" maxLength={64} pattern="[a-z0-9_\-]{1,64}"
          onInput={(e) => setNewName(e.currentTarget.value)} data-testid="lx-new-name" />
        <button type="submit" data-testid="lx-add">{t('lx.add')}</button>
      </form>
      {msg && <p class={msg.ok ? 'ok' : 'error'} role="status" data-testid="lx-msg" data-ok={String(msg.ok)}>{msg.text}</p>}
      {open && (
        <section class="lx-editor" aria-label={open.name}>
          <div class="row">
            <h3 class="mono" data-testid="lx-open-name">{open.name}.tsv{open.isNew && <span class="muted"> · {t('lx.unsaved')}</span>}</h3>
            <span class="grow" />
            <button type="button" onClick={validate} disabled={busy} data-testid="lx-validate">{t('po.validate')}</button>
            <button type="button" class="primary" onClick={save} disabled={busy} data-testid="lx-save">{t('po.save')}</button>
            {!open.isNew && <button type="button" class="danger" onClick={del} disabled={busy} data-testid="lx-delete">{sure ? t('lx.delete_sure') : t('lx.delete')}</button>}
            <button type="button" onClick={() => { setOpen(null); setMsg(null); }}>{t('lx.close')}</button>
          </div>
          <CodeEditor id="lx-text" label={open.name} value={text} errorLine={msg && !msg.ok ? msg.line : null} onInput={setText} testid="lx-editor" />
        </section>
      )}
    </div>
  );
}
