// The HTTP client. The browser authenticates with the HttpOnly session
// cookie the server sets at login (SameSite=Strict), so no token is kept in
// script-reachable storage.
import type {
  Attachment, Alert, AlertStats, AuditEntry, AuditVerify, ContactCard, ContainAction, ContainResult, Conversation, DirUser,
  FileText, GuardOutcome, Message, OcrResult, OfficerContext, Reminder, RemindTarget, Repeat, Session, Spread, FileSpread, UploadInfo, User,
} from './types';

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public guard?: GuardOutcome,
    public retryAfter?: number,
    /** error parameters: the field a title/name error is about, the limit */
    public detail?: { field?: string; max?: number; reason?: string; name?: string },
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface SendResult {
  message: Message;
  guard: GuardOutcome;
  duplicate: boolean;
}

export interface ForwardResult {
  conversation_id: number;
  status: number;
  message?: Message;
  error?: { code: string; message: string };
  guard?: GuardOutcome;
}

function qs(params: Record<string, string | number | null | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

export interface AlertFilter {
  since?: number;
  until?: number;
  category?: string;
  user_id?: number;
  conversation_id?: number;
  status?: string;
  /** guard (overrides included) or report */
  kind?: string;
  before?: number;
  limit?: number;
}

// The server's alert carries acked_by/resolved_by etc.; the views use comment/handled_by/handled_at.
export function normAlert(a: Alert): Alert {
  const resolved = a.resolved_at ?? null;
  return {
    ...a,
    comment: a.comment ?? a.resolve_comment ?? a.ack_comment ?? null,
    handled_by: a.handled_by ?? (resolved !== null ? a.resolved_by : a.acked_by) ?? null,
    handled_at: a.handled_at ?? resolved ?? a.acked_at ?? null,
    findings: a.findings ?? [],
  };
}

/** Audit entries: the server names the fields time/event; the API text created_at/action. */
export function normAudit(e: AuditEntry & { time?: number; event?: string }): AuditEntry {
  return { ...e, created_at: e.created_at ?? e.time ?? 0, action: e.action ?? e.event ?? '' };
}

export class Api {
  /** Called for every 401 unauthorized (session gone): the app returns to login. */
  onUnauthorized: (() => void) | null = null;

  constructor(private fetchFn: Fetch = (i, o) => fetch(i, o), private base = '/api/v1') {}

  async request<T>(method: string, path: string, body?: unknown): Promise<{ status: number; data: T }> {
    // Every request that may change state says JSON, body or not: the
    // server refuses cookie-signed ones that do not (its CSRF defence).
    const safe = method === 'GET' || method === 'HEAD';
    const init: RequestInit = {
      method,
      credentials: 'same-origin',
      headers: safe ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
    };
    if (body !== undefined) init.body = JSON.stringify(body);
    let res: Response;
    try {
      res = await this.fetchFn(this.base + path, init);
    } catch (e) {
      throw new ApiError(0, 'network', (e as Error)?.message || 'network error');
    }
    if (res.status === 204) return { status: 204, data: undefined as T };
    let data: any = null;
    const text = await res.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) {
      const err = data?.error ?? {};
      const ra = res.headers.get('Retry-After');
      const e = new ApiError(res.status, err.code ?? 'http_' + res.status, err.message ?? res.statusText, data?.guard, ra ? Number(ra) : undefined, { field: err.field, max: err.max, reason: err.reason, name: err.name ?? err.filename });
      if (res.status === 401 && e.code === 'unauthorized' && this.onUnauthorized) this.onUnauthorized();
      throw e;
    }
    return { status: res.status, data: data as T };
  }

  private async get<T>(path: string): Promise<T> {
    return (await this.request<T>('GET', path)).data;
  }
  private async post<T>(path: string, body: unknown = {}): Promise<T> {
    return (await this.request<T>('POST', path, body)).data;
  }

  // auth and self
  login(login: string, password: string, totp?: string) {
    return this.post<{ token: string; user: User; must_change_password: boolean; session_id: number; totp_enrolment_required?: boolean }>(
      '/auth/login', totp ? { login, password, totp } : { login, password });
  }
  logout() { return this.post<void>('/auth/logout'); }
  changePassword(old_password: string, new_password: string) {
    return this.post<void>('/auth/password', { old_password, new_password });
  }
  me() { return this.get<User>('/me'); }
  totpEnrol() { return this.post<{ secret: string; otpauth_uri: string }>('/me/totp'); }
  totpConfirm(code: string) { return this.post<void>('/me/totp/confirm', { code }); }
  sessions() { return this.get<{ sessions: Session[] }>('/sessions'); }
  revokeSession(id: number) { return this.request<void>('DELETE', `/sessions/${id}`); }
  directory() { return this.get<{ users: DirUser[] }>('/users'); }
  health() { return this.get<{ ok: boolean; version: string; policy?: { name: string; patterns: number } }>('/health'); }

  // conversations
  conversations() { return this.get<{ conversations: Conversation[] }>('/conversations'); }
  conversation(id: number) { return this.get<Conversation>(`/conversations/${id}`); }
  createConversation(kind: 'direct' | 'group', member_ids: number[], title?: string, shared_history = false) {
    const body: Record<string, unknown> = title ? { kind, title, member_ids } : { kind, member_ids };
    if (shared_history) body.shared_history = true;
    return this.post<Conversation>('/conversations', body);
  }
  setSharedHistory(id: number, shared_history: boolean) {
    return this.request<Conversation>('PATCH', `/conversations/${id}`, { shared_history }).then((r) => r.data);
  }
  renameConversation(id: number, title: string) {
    return this.request<Conversation>('PATCH', `/conversations/${id}`, { title }).then((r) => r.data);
  }
  addMember(id: number, user_id: number) { return this.post<void>(`/conversations/${id}/members`, { user_id }); }
  removeMember(id: number, uid: number) { return this.request<void>('DELETE', `/conversations/${id}/members/${uid}`); }
  setMemberRole(id: number, uid: number, role: 'admin' | 'member') {
    return this.request<void>('PATCH', `/conversations/${id}/members/${uid}`, { role });
  }
  leave(id: number) { return this.post<void>(`/conversations/${id}/leave`); }

  // messages
  messages(id: number, before?: number | null, limit = 50) {
    return this.get<{ messages: Message[]; next_before: number | null }>(
      `/conversations/${id}/messages${qs({ before: before ?? undefined, limit })}`);
  }
  /** A message: text, up to 9 inspected files (file ids), or both; burn: burn-after-reading (text and up to 6 pictures). */
  async send(id: number, client_id: string, text: string, justification?: string, burn = false, attachments?: string[]): Promise<SendResult> {
    const body: Record<string, unknown> = { client_id };
    if (text || !attachments?.length) body.text = text;
    if (attachments?.length) body.attachments = attachments;
    if (justification) body.justification = justification;
    if (burn) body.burn = true;
    const r = await this.request<{ message: Message; guard: GuardOutcome }>('POST', `/conversations/${id}/messages`, body);
    return { ...r.data, duplicate: r.status === 200 };
  }
  recall(mid: number) { return this.post<void>(`/messages/${mid}/recall`); }
  /** A contact card (名片) into a conversation. */
  async sendCard(id: number, client_id: string, card_user_id: number): Promise<SendResult> {
    const r = await this.request<{ message: Message; guard: GuardOutcome }>('POST', `/conversations/${id}/messages`, { client_id, card_user_id });
    return { ...r.data, duplicate: r.status === 200 };
  }
  userCard(uid: number) { return this.get<{ card: ContactCard }>(`/users/${uid}/card`); }
  /** Burn-after-reading: the text, once per reader. */
  /** 识别文字: the picture's text, read on the server, for the caller only (docs/API.md, "Text recognition"). */
  ocr(fileId: string) { return this.post<OcrResult>(`/files/${encodeURIComponent(fileId)}/ocr`); }
  openBurn(mid: number) { return this.post<{ message_id: number; text: string | null; withheld: boolean; visible_seconds: number; attachments?: Attachment[] }>(`/messages/${mid}/open`); }
  reminders(cid: number) { return this.get<{ reminders: Reminder[] }>(`/conversations/${cid}/reminders`); }
  createReminder(cid: number, r: ReminderInput) { return this.post<{ reminder: Reminder }>(`/conversations/${cid}/reminders`, r); }
  editReminder(id: number, r: Partial<ReminderInput>) { return this.request<{ reminder: Reminder }>('PATCH', `/reminders/${id}`, r); }
  cancelReminder(id: number) { return this.request<void>('DELETE', `/reminders/${id}`); }
  forward(mid: number, conversation_ids: number[], client_id?: string) {
    return this.post<{ results: ForwardResult[] }>(`/messages/${mid}/forward`, client_id ? { conversation_ids, client_id } : { conversation_ids });
  }
  markRead(id: number, message_id: number) { return this.post<void>(`/conversations/${id}/read`, { message_id }); }
  /** The state of one of my uploads (tus transfers go through tus-js-client). */
  uploadInfo(id: string) { return this.get<UploadInfo>(`/uploads/${encodeURIComponent(id)}`); }
  guardCheck(text: string, conversation_id?: number) {
    return this.post<GuardOutcome>('/guard/check', conversation_id ? { text, conversation_id } : { text });
  }

  // officer
  async alerts(f: AlertFilter = {}) {
    const r = await this.get<{ alerts: Alert[]; next_before: number | null }>(`/alerts${qs(f as Record<string, number | string>)}`);
    return { ...r, alerts: r.alerts.map(normAlert) };
  }
  /** POST /reports: a message the caller sees, or a person, to the officers (举报). */
  report(body: { message_id?: number; user_id?: number; note: string }) {
    return this.post<{ report: { id: number; created_at: number } }>('/reports', body);
  }
  async alert(id: number) { return normAlert(await this.get<Alert>(`/alerts/${id}`)); }
  async ackAlert(id: number, comment?: string) { return normAlert(await this.post<Alert>(`/alerts/${id}/ack`, comment ? { comment } : {})); }
  async resolveAlert(id: number, comment: string) { return normAlert(await this.post<Alert>(`/alerts/${id}/resolve`, { comment })); }
  async audit(after?: number, limit = 100) {
    const r = await this.get<{ entries: AuditEntry[]; next_after: number | null }>(`/audit${qs({ after, limit })}`);
    return { ...r, entries: r.entries.map(normAudit) };
  }
  auditVerify() { return this.get<AuditVerify>('/audit/verify'); }
  /** alerts over a period counted by the server (days in the browser's zone) */
  stats(from: number, to: number, tz_offset_minutes = -new Date().getTimezoneOffset()) {
    return this.get<AlertStats>(`/officer/stats${qs({ from, to, tz_offset_minutes })}`);
  }
  /** the tree of copies of a message (or of an alert's message) */
  spread(q: { message_id?: number; alert_id?: number }) { return this.get<Spread>(`/officer/spread${qs(q)}`); }
  spreadFile(file_id: string) { return this.get<FileSpread>(`/officer/spread${qs({ file_id })}`); }
  containFile(file_id: string, reason: string, scope: 'copy' | 'tree', action: ContainAction) {
    return this.post<ContainResult>('/officer/contain', { file_id, reason, scope, action });
  }
  contain(message_id: number, reason: string, scope: 'copy' | 'tree', action: ContainAction) {
    return this.post<ContainResult>('/officer/contain', { message_id, reason, scope, action });
  }
  /** The text the guard read in a file an alert names (audited file.text). */
  officerFileText(id: string) {
    return this.get<FileText>(`/officer/files/${encodeURIComponent(id)}/text`);
  }

  officerContext(q: { message_id?: number; alert_id?: number }, reason: string) {
    return this.post<OfficerContext>('/officer/context', { ...q, reason });
  }

  /** One page of the compliance export (GET /officer/export): the bytes,
   * the file name the server suggests and the next page's cursor. */
  async exportPage(q: Record<string, string | number>, cursor: string): Promise<{ bytes: ArrayBuffer; file: string; next: string | null }> {
    let res: Response;
    try {
      res = await this.fetchFn(this.base + '/officer/export' + qs({ ...q, cursor }), { credentials: 'same-origin' });
    } catch (e) {
      throw new ApiError(0, 'network', (e as Error)?.message || 'network error');
    }
    if (!res.ok) {
      let err: any = {};
      try { err = (await res.json())?.error ?? {}; } catch { /* not JSON */ }
      const e = new ApiError(res.status, err.code ?? 'http_' + res.status, err.message ?? res.statusText, undefined, undefined, { max: err.max });
      if (res.status === 401 && e.code === 'unauthorized' && this.onUnauthorized) this.onUnauthorized();
      throw e;
    }
    const m = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') ?? '');
    return { bytes: await res.arrayBuffer(), file: m ? m[1] : 'cordon-export', next: res.headers.get('X-Cordon-Next-Cursor') };
  }

  // admin
  adminUsers() { return this.get<{ users: User[] }>('/admin/users'); }
  createUser(u: { login: string; display_name?: string; role?: string; external?: boolean; password?: string }) {
    return this.post<{ user: User; password: string }>('/admin/users', u);
  }
  patchUser(id: number, p: { role?: string; disabled?: boolean; display_name?: string; department?: string | null; phone?: string }) {
    return this.request<User>('PATCH', `/admin/users/${id}`, p).then((r) => r.data);
  }
  resetPassword(id: number) { return this.post<{ password: string }>(`/admin/users/${id}/reset-password`); }
  userSessions(id: number) { return this.get<{ sessions: Session[] }>(`/admin/users/${id}/sessions`); }
  revokeUserSessions(id: number) { return this.request<void>('DELETE', `/admin/users/${id}/sessions`); }
  policy() { return this.get<PolicyInForce>('/admin/policy'); }
  reloadPolicy() { return this.post<{ ok: boolean; info: Record<string, unknown> }>('/admin/policy/reload'); }
  /** Compiles a policy text without installing it; 422 policy_invalid names "file:line". */
  validatePolicy(text: string) {
    return this.post<{ ok: boolean; info: Record<string, unknown> }>('/admin/policy/validate', { text });
  }
  /** Validates, saves and reloads; on 422 the old policy stays. */
  savePolicy(text: string) {
    return this.request<{ ok: boolean; info: Record<string, unknown> }>('PUT', '/admin/policy', { text }).then((r) => r.data);
  }
  lexicons() { return this.get<{ lexicons: LexiconInfo[] }>('/admin/lexicons'); }
  lexicon(name: string) { return this.get<LexiconInfo & { text: string }>(`/admin/lexicons/${encodeURIComponent(name)}`); }
  validateLexicon(name: string, text: string) {
    return this.post<{ ok: boolean; info: Record<string, unknown> }>(`/admin/lexicons/${encodeURIComponent(name)}/validate`, { text });
  }
  saveLexicon(name: string, text: string) {
    return this.request<{ ok: boolean; info: Record<string, unknown> }>('PUT', `/admin/lexicons/${encodeURIComponent(name)}`, { text }).then((r) => r.data);
  }
  deleteLexicon(name: string) { return this.request<void>('DELETE', `/admin/lexicons/${encodeURIComponent(name)}`); }
}

/** GET /admin/policy: the policy in force (the built-in one too). */
export interface PolicyInForce {
  name: string;
  path: string | null;
  builtin?: boolean;
  save_path?: string;
  text: string | null;
}

/** One entry of GET /admin/lexicons. */
export interface LexiconInfo {
  name: string;
  path: string;
  read_only: boolean;
  terms: number;
  bytes: number;
  updated: number;
}

let seq = 0;
/** A client_id unique per tab: time + counter + randomness (1..64 bytes). */
export function newClientId(): string {
  seq = (seq + 1) % 1e6;
  const rnd = Math.floor(Math.random() * 0x7fffffff).toString(36);
  return `w-${Date.now().toString(36)}-${seq.toString(36)}-${rnd}`;
}

/** POST /conversations/{id}/reminders (docs/API.md): `at` in epoch ms, `tz` the IANA zone repeats follow. */
export interface ReminderInput {
  text: string;
  at: number;
  repeat: Repeat;
  tz: string;
  target: RemindTarget;
  member_ids?: number[];
}
