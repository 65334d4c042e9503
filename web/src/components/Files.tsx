// Photos and files in chat: the tray of files attached to a draft (progress,
// pause/resume, the guard's state before sending), attachments in the
// timeline (thumbnails, file cards) and the image viewer.
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { createPortal } from 'preact/compat';
import type { Client } from '../client';
import { getLang, policyRuleLabel, reasonLabel, t } from '../i18n';
import { Watermark } from './Watermark';
import { OcrAction } from './Ocr';
import { codeMsg } from '../hooks';
import type { Attachment, FileFinding } from '../types';
import {
  fileKind, findingWhere, formatBytes, locationLabel, formatEta, formatSpeed, iconLabel, percent, type PendingFile,
} from '../uploads';

const FILES = '/api/v1/files';

function FileIcon(props: { name: string; mime: string }) {
  const kind = fileKind(props.name, props.mime);
  return <span class={`file-icon k-${kind}`} aria-hidden="true">{iconLabel(props.name, kind)}</span>;
}

function FileFindings(props: { findings: FileFinding[]; name: string }) {
  if (!props.findings?.length) return null;
  const lang = getLang();
  return (
    <ul class="file-findings" data-testid="upload-findings">
      {props.findings.map((f, i) => (
        <li key={i} class={`act-${f.action}`} data-testid="upload-finding">
          {(() => {
            // where (worded), then what was found (the file's own content, as it is)
            const where = locationLabel(f.location, lang, props.name);
            const excerpt = findingWhere({ ...f, location: '' }, lang);
            return (
              <>
                {where && <span data-testid="upload-finding-where">{where}</span>}
                {where && excerpt && t('up.found_sep')}
                {excerpt && <span class="excerpt">{excerpt}</span>}
                <span class="muted">{where || excerpt ? ' · ' : ''}{reasonLabel(f)}</span>
              </>
            );
          })()}
        </li>
      ))}
    </ul>
  );
}

/** One line saying where the file is: progress, the guard's state. */
function PendingState(props: { p: PendingFile }) {
  const p = props.p;
  const lang = getLang();
  const info = p.info;
  switch (p.status) {
    case 'queued':
      return <span class="muted">{t('up.queued')}</span>;
    case 'uploading':
    case 'paused': {
      const pct = percent(p.sent, p.size);
      return (
        <span class="up-progress-line">
          <span class="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label={p.name} data-testid="upload-progress">
            <span class="bar" style={{ width: `${pct}%` }} />
          </span>
          <span class="muted up-numbers" data-testid="upload-numbers">
            {p.status === 'paused' ? `${t('up.paused')} · ` : ''}{pct}% · {t('up.progress', { sent: formatBytes(p.sent), total: formatBytes(p.size) })}
            {p.status === 'uploading' && p.speed > 0 ? ` · ${formatSpeed(p.speed, lang)} · ${formatEta(p.eta, lang)}` : ''}
          </span>
        </span>
      );
    }
    case 'failed':
      return <span class="error" role="alert">{t('up.failed_msg', { msg: codeMsg(p.error) })}</span>;
    case 'detached':
      return <span class="warn-text">{t('up.detached')}{p.sent > 0 ? ` (${percent(p.sent, p.size)}%)` : ''}</span>;
    case 'inspecting':
      return <span class="muted" aria-live="polite">{t('up.inspecting')}</span>;
    case 'ready': {
      const v = info?.verdict;
      return (
        <span class="up-ok">
          <span>{v === 'warn' ? t('up.ready_warn') : v === 'mask' ? t('up.ready_mask') : t('up.ready')}</span>
          {info?.location_removed && <span class="tag loc-removed" data-testid="location-removed">{t('up.location_removed')}</span>}
        </span>
      );
    }
    case 'held':
      return <span class="warn-text">{t('up.held')}</span>;
    case 'blocked':
      // blocked without a finding: the file could not be inspected (or was refused on the way)
      return <span class="error">{info?.findings?.length ? t('up.blocked') : p.error && t(`err.${p.error}`) !== `err.${p.error}` ? codeMsg(p.error) : t('up.blocked_uninspectable')}</span>;
  }
}

/** The files attached to the draft of a conversation. */
export function PendingTray(props: { client: Client; list: PendingFile[] }) {
  const u = props.client.uploads;
  if (!props.list.length) return null;
  return (
    <ul class="up-tray" aria-label={t('up.tray')} data-testid="upload-tray">
      {props.list.map((p) => {
        const findings = p.info?.findings ?? [];
        // the policy rule that stopped it: the server's decided_by, else the blocking finding's rule
        const rule = p.info?.decided_by ?? findings.find((f) => f.action === 'block' && f.policy_rule)?.policy_rule ?? null;
        const showFindings = p.status === 'blocked' || p.status === 'held' || (p.status === 'ready' && p.info?.verdict === 'warn');
        return (
          <li key={p.key} class={`up-item st-${p.status}`} data-testid="upload-item" data-state={p.status} data-name={p.name} data-upload-id={p.uploadId ?? ''}>
            {p.preview ? <img class="up-thumb" src={p.preview} alt="" /> : <FileIcon name={p.name} mime={p.type} />}
            <div class="up-main">
              <div class="up-name"><span class="name" title={p.name}>{p.name}</span> <span class="muted">{formatBytes(p.size)}</span></div>
              <div class="up-state" data-testid="upload-state"><PendingState p={p} /></div>
              {p.status === 'blocked' && rule && (
                <div class="error" data-testid="upload-blocked-rule">{t('up.blocked_rule', { rule: policyRuleLabel(rule) })}</div>
              )}
              {showFindings && <FileFindings findings={findings} name={p.name} />}
            </div>
            <div class="up-actions">
              {p.status === 'uploading' && <button type="button" class="link" onClick={() => u.pause(p.key)} data-testid="upload-pause">{t('up.pause')}</button>}
              {p.status === 'paused' && <button type="button" class="link" onClick={() => u.resume(p.key)} data-testid="upload-resume">{t('up.resume')}</button>}
              {p.status === 'failed' && <button type="button" class="link" onClick={() => u.resume(p.key)} data-testid="upload-retry">{t('up.retry')}</button>}
              {(p.status === 'ready' || p.status === 'held') && p.info?.file_id && p.type.startsWith('image/') && (
                <OcrAction client={props.client} fileId={p.info.file_id} name={p.name} class="link" />
              )}
              <button type="button" class="link up-x" onClick={() => u.remove(p.key)} aria-label={t('up.remove_name', { name: p.name })} title={t('up.remove')} data-testid="upload-remove">×</button>
            </div>
          </li>
        );
      })}
    </ul>
  );
}

/** The attachments of a message: images as thumbnails (the viewer on click), other files as cards. */
/** Who is looking, for the watermark over the viewer (as over the conversation). */
export interface Viewer {
  name: string;
  account: string;
  date: string;
}

export function Attachments(props: { atts: Attachment[]; wm: Viewer; client?: Client }) {
  const [open, setOpen] = useState<number | null>(null);
  const images = props.atts.filter((a) => a.kind === 'image');
  const files = props.atts.filter((a) => a.kind !== 'image');
  return (
    <div class="atts" data-testid="attachments">
      {images.length > 0 && (
        <div class={`att-images n${Math.min(images.length, 3)}`}>
          {images.map((a, i) => (
            <button type="button" key={a.id} class="att-thumb" onClick={() => setOpen(i)} aria-label={t('file.open', { name: a.name })} data-testid="att-image" data-file-id={a.id}>
              <img
                src={a.thumbnail ? `${FILES}/${encodeURIComponent(a.id)}/thumbnail` : `${FILES}/${encodeURIComponent(a.id)}?inline=1`}
                alt={a.name}
                loading="lazy"
                width={a.width && a.height ? Math.min(240, a.width) : undefined}
                height={a.width && a.height ? Math.round((Math.min(240, a.width) * a.height) / a.width) : undefined}
              />
              {a.location_removed && <span class="tag loc-removed" data-testid="att-location-removed">{t('file.location_removed')}</span>}
            </button>
          ))}
        </div>
      )}
      {files.map((a) => (
        <div class={`att-card${a.thumbnail ? ' has-preview' : ''}`} key={a.id} data-testid="att-file" data-file-id={a.id}>
          {a.thumbnail && (
            // a PDF's first page, rendered by the server in its sandbox
            <div class="att-preview-row">
              <img class="att-preview" src={`${FILES}/${encodeURIComponent(a.id)}/thumbnail`} alt={t('file.preview', { name: a.name })} loading="lazy" data-testid="att-preview" />
            </div>
          )}
          <FileIcon name={a.name} mime={a.mime} />
          <div class="att-main">
            <div class="name" title={a.name}>{a.name}</div>
            <div class="muted">{formatBytes(a.size)} · {t(`kind.${fileKind(a.name, a.mime)}`)}</div>
          </div>
          <a class="button" href={`${FILES}/${encodeURIComponent(a.id)}`} download={a.name} aria-label={t('file.download_name', { name: a.name })} data-testid="att-download">{t('file.download')}</a>
        </div>
      ))}
      {open !== null && <ImageViewer images={images} start={open} wm={props.wm} client={props.client} onClose={() => setOpen(null)} />}
    </div>
  );
}

/** The full image over the page: Escape or a swipe down closes, arrows or a swipe sideways turn. */
export function ImageViewer(props: { images: Attachment[]; start: number; wm: Viewer; client?: Client; onClose: () => void }) {
  const [i, setI] = useState(props.start);
  const ref = useRef<HTMLDivElement>(null);
  const touch = useRef<{ x: number; y: number } | null>(null);
  const n = props.images.length;
  const a = props.images[i];
  const go = (d: number) => setI((x) => (x + d + n) % n);
  // A layout effect, as Dialog's: the keys work from the moment it shows.
  useLayoutEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    ref.current?.querySelector<HTMLElement>('.viewer-x')?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        props.onClose();
      } else if (e.key === 'ArrowRight' && n > 1) go(1);
      else if (e.key === 'ArrowLeft' && n > 1) go(-1);
    };
    addEventListener('keydown', onKey);
    return () => {
      removeEventListener('keydown', onKey);
      prev?.focus?.();
    };
  }, []);
  if (!a) return null;
  const src = `${FILES}/${encodeURIComponent(a.id)}?inline=1`;
  // Over the page (a portal): nothing of the timeline's layout clips or
  // dims it; the watermark names the viewer over the full image too.
  return createPortal(
    <div
      class="viewer"
      role="dialog"
      aria-modal="true"
      aria-label={t('viewer.title', { i: i + 1, n })}
      ref={ref}
      data-testid="viewer"
      onClick={(e) => e.target === e.currentTarget && props.onClose()}
      onTouchStart={(e) => { const p = e.touches[0]; touch.current = { x: p.clientX, y: p.clientY }; }}
      onTouchEnd={(e) => {
        const s = touch.current;
        touch.current = null;
        const p = e.changedTouches[0];
        if (!s || !p) return;
        const dx = p.clientX - s.x;
        const dy = p.clientY - s.y;
        if (dy > 80 && Math.abs(dy) > Math.abs(dx)) props.onClose();
        else if (Math.abs(dx) > 60 && n > 1) go(dx < 0 ? 1 : -1);
      }}
    >
      <div class="viewer-bar">
        <span class="viewer-title">
          <span class="viewer-name" title={a.name}>{a.name}</span>
          {n > 1 && <span class="muted small">{t('viewer.title', { i: i + 1, n })}</span>}
        </span>
        {props.client && <OcrAction key={a.id} client={props.client} fileId={a.id} name={a.name} />}
        <a class="button" href={`${FILES}/${encodeURIComponent(a.id)}`} download={a.name} aria-label={t('viewer.download')} data-testid="viewer-download">{t('file.download')}</a>
        <button type="button" class="viewer-x" onClick={props.onClose} aria-label={t('common.close')} data-testid="viewer-close">×</button>
      </div>
      {n > 1 && <button type="button" class="viewer-nav prev" onClick={() => go(-1)} aria-label={t('viewer.prev')}>‹</button>}
      <img class="viewer-img" src={src} alt={a.name} data-testid="viewer-img" />
      {n > 1 && <button type="button" class="viewer-nav next" onClick={() => go(1)} aria-label={t('viewer.next')}>›</button>}
      <p class="viewer-hint">{t('viewer.hint')}</p>
      <Watermark name={props.wm.name} account={props.wm.account} date={props.wm.date} />
    </div>,
    document.body,
  );
}

/** The list's one-line preview of a message that carries files. */
export function attachmentsPreview(atts: Attachment[] | undefined): string {
  if (!atts?.length) return '';
  const img = atts.find((a) => a.kind === 'image');
  return img ? t('list.photo') : t('list.file', { name: atts[0].name });
}
