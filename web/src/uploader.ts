// The transfers of one signed-in session: every file the user attached, in
// any conversation, sent with tus-js-client to /api/v1/uploads (tus 1.0),
// then followed until the guard has decided (GET /uploads/{id} and the
// `upload.state` event). Transfers go on while the user reads another
// conversation; a dropped connection is retried by tus-js-client, and when
// the browser says it is online again; after a reload the tray comes back
// from the ids kept in localStorage (uploads.ts records) and each upload
// resumes by itself from the server's offset (tus-js-client's URL storage)
// with the File the browser kept in IndexedDB (filekeep.ts) — until the
// upload ends, is removed or expires, or the user signs out, when the kept
// copy goes. Without IndexedDB the tray asks for the file again and a
// re-picked file resumes the same way.
import { Upload, type DetailedError } from 'tus-js-client';
import type { Api } from './api';
import { ApiError } from './api';
import { dropAllFiles, dropFile, keepFile, keptFile } from './filekeep';
import { Store } from './store';
import type { UploadInfo } from './types';
import {
  MAX_ATTACHMENTS, SpeedMeter, applyInfo, fromRecord, isTransferring, loadRecords, matchDetached, saveRecords,
  uploadErrorCode, type PendingFile,
} from './uploads';

/** Chunk size of a PATCH: a dropped connection loses at most this much. */
const CHUNK = 8 * 1024 * 1024;
/** Waits between retries of a failed request (then the file shows "failed"). */
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000];
/** Polling for the verdict: first after this, then slower up to POLL_MAX. */
const POLL_FIRST = 500;
const POLL_MAX = 4000;

let keySeq = 0;

export class Uploader {
  /** Every pending file of this session, in the order attached. */
  readonly items = new Store<PendingFile[]>([]);
  private files = new Map<string, File>();
  private tus = new Map<string, Upload>();
  private meters = new Map<string, SpeedMeter>();
  private polls = new Map<string, ReturnType<typeof setTimeout>>();
  private onlineHandler = () => this.retryFailed();

  constructor(
    private api: Api,
    private userId: number,
    private storage: Storage | null = globalThis.localStorage ?? null,
    private endpoint = `${globalThis.location?.origin ?? ''}/api/v1/uploads`,
  ) {}

  /** After sign-in: the unsent uploads of an earlier page, asked about again. */
  async restore(): Promise<void> {
    globalThis.addEventListener?.('online', this.onlineHandler);
    const recs = loadRecords(this.storage, this.userId);
    if (!recs.length) return;
    this.items.update((l) => [...l, ...recs.filter((r) => !l.some((p) => p.uploadId === r.id)).map((r) => fromRecord(r, `u${++keySeq}`))]);
    await Promise.all(recs.map((r) => this.refresh(r.id)));
    // the bytes the browser kept: the transfer goes on by itself
    for (const r of recs) {
      const f = await keptFile(this.userId, r.id);
      const p = this.items.get().find((x) => x.uploadId === r.id);
      if (!f || !p || p.status !== 'detached' || this.files.has(p.key)) continue;
      const preview = f.type.startsWith('image/') && typeof URL !== 'undefined' && URL.createObjectURL ? URL.createObjectURL(f) : null;
      this.set(p.key, (x) => ({ ...x, status: 'queued', type: f.type, lastModified: f.lastModified, error: null, preview: x.preview ?? preview }));
      this.files.set(p.key, f);
      void this.start(p.key);
    }
  }

  stop(): void {
    globalThis.removeEventListener?.('online', this.onlineHandler);
    for (const u of this.tus.values()) void u.abort(false).catch(() => undefined);
    for (const t of this.polls.values()) clearTimeout(t);
    this.tus.clear();
    this.polls.clear();
  }

  /** At sign-out: the names and URLs of unsent uploads leave the browser
   * (a shared computer keeps nothing of them); the server expires them. */
  forget(): void {
    for (const p of this.items.get()) {
      if (p.preview) URL.revokeObjectURL(p.preview);
      if (p.uploadId) this.forgetTusUrl(p.uploadId);
    }
    this.items.set([]);
    this.files.clear();
    saveRecords(this.storage, this.userId, []);
    void dropAllFiles(this.userId);
  }

  forConv(conv: number): PendingFile[] {
    return this.items.get().filter((p) => p.conv === conv);
  }

  private set(key: string, fn: (p: PendingFile) => PendingFile): void {
    this.items.update((l) => l.map((p) => (p.key === key ? fn(p) : p)));
  }

  private persist(): void {
    saveRecords(this.storage, this.userId, this.items.get().filter((p) => p.uploadId));
  }

  /** Attaches files to the draft of a conversation and starts sending them.
   * Returns how many were refused for being over the limit of one message. */
  add(conv: number, files: File[]): number {
    let room = MAX_ATTACHMENTS - this.forConv(conv).filter((p) => p.status !== 'detached').length;
    let refused = 0;
    for (const f of files) {
      const again = matchDetached(this.items.get(), conv, f);
      if (!again && room <= 0) {
        refused++;
        continue;
      }
      let key: string;
      if (again) {
        key = again.key;
        this.set(key, (p) => ({ ...p, status: 'queued', type: f.type, lastModified: f.lastModified, error: null }));
      } else {
        room--;
        key = `u${++keySeq}`;
        const preview = f.type.startsWith('image/') && typeof URL !== 'undefined' && URL.createObjectURL ? URL.createObjectURL(f) : null;
        this.items.update((l) => [...l, {
          key, conv, name: f.name || 'file', size: f.size, type: f.type, lastModified: f.lastModified, sent: 0, status: 'queued',
          uploadId: null, info: null, error: null, speed: 0, eta: null, preview,
        }]);
      }
      this.files.set(key, f);
      void this.start(key);
    }
    return refused;
  }

  private async start(key: string): Promise<void> {
    const f = this.files.get(key);
    const p = this.items.get().find((x) => x.key === key);
    if (!f || !p) return;
    const meter = this.meters.get(key) ?? new SpeedMeter();
    meter.reset();
    this.meters.set(key, meter);
    const user = this.userId;
    const up = new Upload(f, {
      endpoint: this.endpoint,
      metadata: { filename: p.name, conversation_id: String(p.conv), filetype: f.type || 'application/octet-stream' },
      chunkSize: CHUNK,
      retryDelays: RETRY_DELAYS,
      // The same file to the same conversation by the same user resumes;
      // anything else is a new upload (its membership is checked anew).
      fingerprint: async (file: File) => ['cordon', user, p.conv, file.name, file.type, file.size, file.lastModified].join('/'),
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onUploadUrlAvailable: () => {
        const id = idOf(up.url);
        if (id) {
          this.set(key, (x) => ({ ...x, uploadId: id }));
          this.persist();
          void keepFile(user, id, f);
        }
      },
      onProgress: (sent, total) => {
        meter.add(sent, Date.now());
        this.set(key, (x) => (x.status === 'uploading' || x.status === 'queued' ? { ...x, status: 'uploading', sent, speed: meter.rate(), eta: meter.eta(total) } : x));
      },
      onSuccess: () => {
        this.tus.delete(key);
        this.files.delete(key);
        const id = idOf(up.url);
        if (id) void dropFile(user, id); // every byte is on the server
        this.set(key, (x) => ({ ...x, status: 'inspecting', sent: x.size, speed: 0, eta: null, uploadId: id ?? x.uploadId }));
        this.persist();
        if (id) this.poll(id, POLL_FIRST);
      },
      onError: (err) => {
        const d = err as DetailedError;
        const res = d.originalResponse;
        const code = uploadErrorCode(res ? res.getStatus() : 0, res ? res.getBody() : null);
        this.set(key, (x) => (x.status === 'paused' ? x : { ...x, status: 'failed', error: code, speed: 0, eta: null }));
      },
    });
    this.tus.set(key, up);
    this.set(key, (x) => ({ ...x, status: 'uploading', error: null }));
    try {
      const prev = await up.findPreviousUploads();
      if (prev.length) up.resumeFromPreviousUpload(prev[0]);
    } catch {
      /* no stored URL: a new upload */
    }
    if (this.items.get().find((x) => x.key === key)?.status !== 'uploading') return; // paused or removed meanwhile
    up.start();
  }

  pause(key: string): void {
    const up = this.tus.get(key);
    this.set(key, (x) => ({ ...x, status: 'paused', speed: 0, eta: null }));
    if (up) void up.abort(false).catch(() => undefined);
  }

  resume(key: string): void {
    const up = this.tus.get(key);
    const p = this.items.get().find((x) => x.key === key);
    if (!p || !this.files.has(key)) return;
    if (up && (p.status === 'paused' || p.status === 'failed')) {
      this.meters.get(key)?.reset();
      this.set(key, (x) => ({ ...x, status: 'uploading', error: null }));
      up.start();
    } else void this.start(key);
  }

  /** Back online: failed transfers (not refusals) start again. */
  retryFailed(): void {
    for (const p of this.items.get()) if (p.status === 'failed' && (p.error === 'upload_network' || p.error === 'upload_server')) this.resume(p.key);
  }

  /** Removes a file from the draft; an unfinished upload is terminated on the server. */
  remove(key: string): void {
    const p = this.items.get().find((x) => x.key === key);
    const up = this.tus.get(key);
    this.tus.delete(key);
    this.files.delete(key);
    const t = p?.uploadId ? this.polls.get(p.uploadId) : undefined;
    if (t) clearTimeout(t);
    if (up) void up.abort(true).catch(() => undefined);
    else if (p?.uploadId && p.status !== 'ready' && p.status !== 'held') {
      void Upload.terminate(`${this.endpoint}/${p.uploadId}`, {}).catch(() => undefined);
      this.forgetTusUrl(p.uploadId);
    }
    if (p?.uploadId) void dropFile(this.userId, p.uploadId);
    if (p?.preview) URL.revokeObjectURL(p.preview);
    this.items.update((l) => l.filter((x) => x.key !== key));
    this.persist();
  }

  /** After a message carried them: the draft's files are gone from the tray. */
  sent(keys: string[]): void {
    for (const k of keys) {
      const p = this.items.get().find((x) => x.key === k);
      if (p?.preview) URL.revokeObjectURL(p.preview);
      this.files.delete(k);
    }
    this.items.update((l) => l.filter((x) => !keys.includes(x.key)));
    this.persist();
  }

  /** tus-js-client's stored URL of an upload this page did not start (a
   * detached one): gone with the upload, so nothing is left behind. */
  private forgetTusUrl(id: string): void {
    try {
      const st = this.storage;
      if (!st) return;
      for (let i = st.length - 1; i >= 0; i--) {
        const k = st.key(i);
        if (!k?.startsWith('tus::')) continue;
        const url = (JSON.parse(st.getItem(k) ?? '{}') as { uploadUrl?: string }).uploadUrl;
        if (url && idOf(url) === id) st.removeItem(k);
      }
    } catch {
      /* storage blocked or an entry not tus-js-client's */
    }
  }

  /** The `upload.state` event (the uploader's sessions). */
  onState(info: UploadInfo): void {
    if (!this.items.get().some((p) => p.uploadId === info.id)) return;
    this.items.update((l) => l.map((p) => (p.uploadId === info.id && p.status !== 'uploading' && p.status !== 'paused' ? applyInfo(p, info) : p)));
    if (info.state !== 'uploading' && info.state !== 'inspecting') {
      const t = this.polls.get(info.id);
      if (t) clearTimeout(t);
      this.polls.delete(info.id);
    }
  }

  /** After a `sync`: an upload.state may have been lost; ask about every upload the guard holds. */
  async sync(): Promise<void> {
    const ids = this.items.get().filter((p) => p.uploadId && (p.status === 'inspecting' || p.status === 'detached')).map((p) => p.uploadId as string);
    await Promise.all(ids.map((id) => this.refresh(id)));
  }

  /** GET /uploads/{id}: the state of an upload this page did not see end. */
  private async refresh(id: string): Promise<UploadInfo | null> {
    try {
      const info = await this.api.uploadInfo(id);
      this.items.update((l) => l.map((p) => {
        if (p.uploadId !== id) return p;
        if (info.state === 'uploading') return p.status === 'detached' ? { ...p, info, sent: info.offset } : p;
        return applyInfo(p, info);
      }));
      return info;
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 410)) {
        // expired or removed: nothing left to send, nothing to keep
        void dropFile(this.userId, id);
        this.items.update((l) => l.filter((p) => !(p.uploadId === id && (p.status === 'detached' || p.status === 'inspecting'))));
        this.persist();
      }
      return null;
    }
  }

  /** Asks until the guard has decided (the event usually comes first). */
  private poll(id: string, wait: number): void {
    const t = setTimeout(async () => {
      this.polls.delete(id);
      const p = this.items.get().find((x) => x.uploadId === id);
      if (!p || p.status !== 'inspecting') return;
      const info = await this.refresh(id);
      if (!info || info.state === 'uploading' || info.state === 'inspecting') this.poll(id, Math.min(POLL_MAX, wait * 2));
    }, wait);
    this.polls.set(id, t);
  }

  /** Detached uploads and finished ones survive in the tray; anything still moving? */
  busy(conv: number): boolean {
    return this.forConv(conv).some(isTransferring);
  }
}

/** The upload id: the last path segment of its URL. */
export function idOf(url: string | null): string | null {
  if (!url) return null;
  const m = /\/uploads\/([A-Za-z0-9_-]+)\/?(?:[?#].*)?$/.exec(url);
  return m ? m[1] : null;
}
