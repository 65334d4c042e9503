// Photos and files waiting to be sent: their state from the first byte to
// the guard's verdict, as pure functions the views render and the unit
// tests check. The transfer itself (tus-js-client) lives in uploader.ts.
//
// A pending file goes queued → uploading (⇄ paused, failed: retried) →
// inspecting → ready | held | blocked, the last three from the server
// (GET /uploads/{id}, the `upload.state` event). `detached` is an upload a
// previous page started whose bytes the browser did not keep (no
// IndexedDB: filekeep.ts): the server has part of it, and picking the same
// file again resumes it from the server's offset. A kept file resumes by
// itself (uploader.ts, restore).
import type { Lang } from './format';
import { translate } from './i18n';
import type { FileFinding, UploadInfo } from './types';

export type PendingStatus = 'queued' | 'uploading' | 'paused' | 'failed' | 'detached' | 'inspecting' | 'ready' | 'held' | 'blocked';

export interface PendingFile {
  /** local key (stable across the upload's life in this page) */
  key: string;
  conv: number;
  name: string;
  size: number;
  type: string;
  lastModified: number;
  /** bytes the server has (offset) */
  sent: number;
  status: PendingStatus;
  /** the tus upload id (last segment of its URL) once created */
  uploadId: string | null;
  /** the server's last word on it */
  info: UploadInfo | null;
  /** an error code (worded by the client: err.<code>) */
  error: string | null;
  /** bytes per second, recent average; 0 when unknown */
  speed: number;
  /** seconds left at that speed, null when unknown */
  eta: number | null;
  /** blob: URL of a local image for the tray, null otherwise */
  preview: string | null;
}

/** At most this many attachments in one message (the server's limit too). */
export const MAX_ATTACHMENTS = 9;

/** States in which the bytes are (still) moving or waiting to move. */
export function isTransferring(p: PendingFile): boolean {
  return p.status === 'queued' || p.status === 'uploading' || p.status === 'paused' || p.status === 'failed' || p.status === 'detached';
}

/** Merges what the server says about an upload into the pending file. */
export function applyInfo(p: PendingFile, info: UploadInfo): PendingFile {
  const next: PendingFile = { ...p, info, uploadId: info.id, sent: Math.max(0, Math.min(info.offset, info.length || p.size)) };
  if (info.state === 'uploading') {
    // The server only knows the bytes arrived so far; the page knows whether it is sending.
    if (p.status === 'inspecting' || p.status === 'ready' || p.status === 'held' || p.status === 'blocked') next.status = 'inspecting';
    return next;
  }
  next.status = info.state;
  next.sent = info.length || p.size;
  next.speed = 0;
  next.eta = null;
  if (info.error) next.error = info.error;
  return next;
}

export interface SendCheck {
  /** every attachment inspected and none blocked (and at least something to send) */
  ok: boolean;
  fileIds: string[];
  /** an attachment needs a justification (the server asks for it on send) */
  held: boolean;
  /** attachments still moving or being inspected */
  waiting: number;
  blocked: number;
  tooMany: boolean;
}

/** Whether a message with these attachments can be sent now, and with what. */
export function checkSend(list: PendingFile[]): SendCheck {
  const fileIds: string[] = [];
  let waiting = 0;
  let blocked = 0;
  let held = false;
  for (const p of list) {
    if (p.status === 'blocked') blocked++;
    else if (p.status === 'ready' || p.status === 'held') {
      if (p.info?.file_id) fileIds.push(p.info.file_id);
      else waiting++;
      if (p.status === 'held') held = true;
    } else waiting++;
  }
  const tooMany = list.length > MAX_ATTACHMENTS;
  return { ok: waiting === 0 && blocked === 0 && !tooMany, fileIds, held, waiting, blocked, tooMany };
}

/** Recent transfer speed: bytes over a sliding window of samples. */
export class SpeedMeter {
  private samples: { t: number; bytes: number }[] = [];
  constructor(private windowMs = 5000) {}

  /** Records that `bytes` (cumulative) had been sent at time t (ms). */
  add(bytes: number, t: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last && bytes < last.bytes) this.samples = []; // restarted from an earlier offset
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[0].t > this.windowMs) this.samples.shift();
  }

  /** Bytes per second over the window; 0 until two samples ≥ 200 ms apart. */
  rate(): number {
    if (this.samples.length < 2) return 0;
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    const dt = b.t - a.t;
    return dt < 200 ? 0 : ((b.bytes - a.bytes) * 1000) / dt;
  }

  /** Seconds until `total` at the current rate, null when the rate is unknown. */
  eta(total: number): number | null {
    const r = this.rate();
    const last = this.samples[this.samples.length - 1];
    if (!last || r <= 0) return null;
    return Math.max(0, Math.ceil((total - last.bytes) / r));
  }

  reset(): void {
    this.samples = [];
  }
}

/** A size for people: 0 B, 512 B, 1.5 KiB, 200 KiB, 12.3 MiB, 1.20 GiB (binary units, both languages). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  // GiB with two decimals: a 2 GB upload moves visibly every 10 MiB.
  return `${v < 100 ? v.toFixed(i >= 2 ? 2 : 1) : v.toFixed(0)} ${units[i]}`;
}

/** "1.5 MiB/秒", "1.5 MiB/s". */
export function formatSpeed(bytesPerSec: number, lang: Lang): string {
  return translate(lang, 'up.speed', { v: formatBytes(bytesPerSec) });
}

/** Time left: "8 秒", "2 分 05 秒", "1 小时 03 分" / "8 s", "2 min 05 s", "1 h 03 min". */
export function formatEta(sec: number | null, lang: Lang): string {
  if (sec === null || !Number.isFinite(sec)) return translate(lang, 'up.eta_unknown');
  const s = Math.max(0, Math.round(sec));
  const two = (x: number) => String(x).padStart(2, '0');
  let v: string;
  if (s < 60) v = translate(lang, 'eta.s', { s });
  else if (s < 3600) v = translate(lang, 'eta.ms', { m: Math.floor(s / 60), s: two(s % 60) });
  else v = translate(lang, 'eta.hm', { h: Math.floor(s / 3600), m: two(Math.floor((s % 3600) / 60)) });
  return translate(lang, 'up.eta', { t: v });
}

/** Whole percent sent, 100 only when everything is there. */
export function percent(sent: number, total: number): number {
  if (total <= 0) return 100;
  const p = Math.floor((sent * 100) / total);
  return sent >= total ? 100 : Math.min(99, p);
}

export type FileKind = 'image' | 'pdf' | 'doc' | 'sheet' | 'slides' | 'archive' | 'video' | 'audio' | 'text' | 'other';

/** The kind of file for its icon, from the detected MIME type, then the name. */
export function fileKind(name: string, mime: string): FileKind {
  const m = (mime || '').toLowerCase();
  const ext = (name.match(/\.([A-Za-z0-9]{1,8})$/)?.[1] ?? '').toLowerCase();
  if (m.startsWith('image/')) return 'image';
  if (m === 'application/pdf' || ext === 'pdf') return 'pdf';
  if (m.startsWith('video/')) return 'video';
  if (m.startsWith('audio/')) return 'audio';
  if (/wordprocessing|msword|opendocument\.text|rtf/.test(m) || ['doc', 'docx', 'odt', 'rtf', 'wps'].includes(ext)) return 'doc';
  if (/spreadsheet|ms-excel|csv/.test(m) || ['xls', 'xlsx', 'ods', 'csv', 'et'].includes(ext)) return 'sheet';
  if (/presentation|powerpoint/.test(m) || ['ppt', 'pptx', 'odp', 'dps'].includes(ext)) return 'slides';
  if (/zip|x-7z|x-rar|x-tar|gzip|x-xz|bzip/.test(m) || ['zip', '7z', 'rar', 'tar', 'gz', 'tgz', 'xz', 'bz2'].includes(ext)) return 'archive';
  if (m.startsWith('text/') || ['txt', 'md', 'log'].includes(ext)) return 'text';
  if (['jpg', 'jpeg', 'png', 'gif', 'webp', 'heic', 'bmp', 'tif', 'tiff'].includes(ext) && !m) return 'image';
  return 'other';
}

/** The short label on a file's icon: its extension (data: the file's own name), else the kind. */
export function iconLabel(name: string, kind: FileKind): string {
  const ext = name.match(/\.([A-Za-z0-9]{1,5})$/)?.[1];
  return ext ? ext.toUpperCase() : kind === 'other' ? '?' : kind.slice(0, 3).toUpperCase();
}

// Where in a file a finding is, as the server names it ("page 1, OCR",
// "a.zip!b.docx!word/header1.xml", "exif:GPS"), worded part by part: known
// words are translated, paths inside archives stay as written (they are the
// file's own names).
const LOC_WORDS: Record<string, string> = {
  ocr: 'loc.ocr', exif: 'loc.exif', xmp: 'loc.xmp', iptc: 'loc.xmp', gps: 'loc.gps', location: 'loc.gps', qr: 'loc.qr', qrcode: 'loc.qr',
  header: 'loc.header', footer: 'loc.footer', red_header: 'loc.red_header', redheader: 'loc.red_header', masthead: 'loc.red_header',
  metadata: 'loc.metadata', meta: 'loc.metadata', properties: 'loc.metadata', filename: 'loc.filename', name: 'loc.filename',
  body: 'loc.body', text: 'loc.body', content: 'loc.body', comment: 'loc.comment', comments: 'loc.comment', image: 'loc.image',
  title: 'loc.title',
};

export function locationLabel(loc: string | null | undefined, lang: Lang, fileName?: string): string {
  if (!loc) return '';
  // The guard names parts from the file itself down, "!" between the
  // levels ("gps.jpg!metadata", "a.zip!b.docx!word/header1.xml"; a file
  // may be named twice, "x.png!x.png!ocr"). The tray already says which
  // file: its own name is left out there. Inner files and paths stay as
  // written; the innermost part is worded.
  const levels = loc.split('!').filter((x, i, a) => x && x !== a[i - 1]);
  if (fileName && levels[0] === fileName) levels.shift();
  const inner = levels.pop();
  if (inner === undefined) return '';
  const words = inner.split(/[\s,;]+/).filter(Boolean);
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const num = /^(page|p|sheet|slide|frame)$/i.exec(w) && /^\d+$/.test(words[i + 1] ?? '') ? words[++i] : null;
    if (num !== null) {
      const k = w.toLowerCase();
      out.push(translate(lang, k === 'sheet' ? 'loc.sheet' : k === 'slide' ? 'loc.slide' : k === 'frame' ? 'loc.frame' : 'loc.page', { n: num }));
      continue;
    }
    const inline = /^(page|sheet|slide|frame)[:#=](\d+)$/i.exec(w);
    if (inline) {
      const k = inline[1].toLowerCase();
      out.push(translate(lang, k === 'page' ? 'loc.page' : `loc.${k}`, { n: inline[2] }));
      continue;
    }
    // "ocr", "exif:GPSLatitude": a known word worded, what follows the colon as written
    const m = /^([A-Za-z_]+)(?::(.+))?$/.exec(w);
    const key = m ? LOC_WORDS[m[1].toLowerCase()] : undefined;
    if (m && key) out.push(m[2] ? `${translate(lang, key)}（${m[2]}）` : translate(lang, key));
    else out.push(w); // a path inside the file (word/header1.xml): the file's own names
  }
  return [...levels, out.join(' ')].join(' › ');
}

/** "第 1 页 OCR：机密★1年" — where, then what. */
export function findingWhere(f: Pick<FileFinding, 'location' | 'excerpt'> & { rule?: string }, lang: Lang, fileName?: string): string {
  const where = locationLabel(f.location, lang, fileName);
  // An image finding's excerpt is the detector's English description, not
  // text of the file: its reason says it better.
  const excerpt = f.rule?.startsWith('image.') ? '' : f.excerpt ?? '';
  if (!where) return excerpt;
  return excerpt ? translate(lang, 'up.found_at', { loc: where, excerpt }) : where;
}

// The tus route's own codes (docs/API.md) onto the words the client has.
const SERVER_CODES: Record<string, string> = {
  not_found: 'upload_not_member', forbidden: 'upload_not_member', not_member: 'upload_not_member',
  upload_too_long: 'upload_too_large', checksum_mismatch: 'upload_checksum', internal: 'upload_server',
};

/** An error code for a refused or failed upload: the server's own code when
 * its body names one, else by HTTP status (tus answers plain statuses). */
export function uploadErrorCode(status: number, body?: string | null): string {
  if (body) {
    try {
      const j = JSON.parse(body);
      const c = j?.error?.code ?? j?.code;
      if (typeof c === 'string' && c) return SERVER_CODES[c] ?? c;
    } catch {
      /* not JSON */
    }
  }
  switch (status) {
    case 0: return 'upload_network';
    case 401: return 'unauthorized';
    case 403: case 404: return 'upload_not_member';
    case 410: return 'upload_expired';
    case 413: return 'upload_too_large';
    case 415: return 'upload_type_refused';
    case 429: return 'upload_quota';
    case 460: return 'upload_checksum';
    default: return status >= 500 ? 'upload_server' : 'upload_failed';
  }
}

/** What is kept across a reload: ids and names of unsent uploads, never bytes. */
export interface PendingRecord {
  id: string;
  conv: number;
  name: string;
  size: number;
  type: string;
  lastModified: number;
}

export function recordsKey(userId: number): string {
  return `cordon.uploads.${userId}`;
}

export function loadRecords(storage: Pick<Storage, 'getItem'> | null, userId: number): PendingRecord[] {
  try {
    const v = JSON.parse(storage?.getItem(recordsKey(userId)) ?? '[]');
    if (!Array.isArray(v)) return [];
    return v.filter((r) => r && typeof r.id === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(r.id) && Number.isInteger(r.conv) && typeof r.name === 'string').slice(0, 50);
  } catch {
    return [];
  }
}

export function saveRecords(storage: Pick<Storage, 'setItem' | 'removeItem'> | null, userId: number, list: PendingFile[]): void {
  const recs: PendingRecord[] = list
    .filter((p) => p.uploadId)
    .map((p) => ({ id: p.uploadId!, conv: p.conv, name: p.name, size: p.size, type: p.type, lastModified: p.lastModified }));
  try {
    if (recs.length) storage?.setItem(recordsKey(userId), JSON.stringify(recs));
    else storage?.removeItem(recordsKey(userId));
  } catch {
    /* storage full or blocked: only the resume after a reload is lost */
  }
}

/** A pending file made from a record of a previous page (state to be asked). */
export function fromRecord(r: PendingRecord, key: string): PendingFile {
  return {
    key, conv: r.conv, name: r.name, size: r.size, type: r.type, lastModified: r.lastModified ?? 0, sent: 0,
    status: 'detached', uploadId: r.id, info: null, error: null, speed: 0, eta: null, preview: null,
  };
}

/** The detached upload a newly picked file resumes, if any (same conversation, name, size). */
export function matchDetached(list: PendingFile[], conv: number, f: { name: string; size: number }): PendingFile | undefined {
  return list.find((p) => p.conv === conv && p.status === 'detached' && p.name === f.name && p.size === f.size);
}
