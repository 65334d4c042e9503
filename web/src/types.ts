// Objects of the Cordon API (docs/API.md).
export type Role = 'member' | 'officer' | 'admin';
export type Verdict = 'allow' | 'warn' | 'mask' | 'confirm' | 'block';

export interface User {
  id: number;
  login: string;
  display_name: string;
  role: Role;
  external: boolean;
  disabled: boolean;
  totp_enabled: boolean;
  must_change_password: boolean;
  created_at: number;
  /** the user's department (admins set it; the dashboard counts by it) */
  department?: string | null;
  /** the work phone, in full (admin views); null when none */
  phone?: string | null;
}

export interface DirUser {
  id: number;
  login: string;
  display_name: string;
  external: boolean;
}

export interface Session {
  id: number;
  created_at: number;
  last_seen_at: number;
  address: string;
  user_agent: string;
  current: boolean;
}

export interface Member {
  user_id: number;
  role: 'owner' | 'admin' | 'member';
  /** highest message id this member has read / had delivered (GET /conversations/{id}) */
  read_id?: number;
  delivered_id?: number;
  external?: boolean;
}

export interface Forward {
  from_message_id: number;
  original_message_id: number;
  original_sender_id: number;
  depth: number;
}

export interface Message {
  id: number;
  conversation_id: number;
  sender_id: number;
  client_id: string;
  text: string | null;
  created_at: number;
  masked: boolean;
  recalled: boolean;
  /** history / last_message: an earlier message the policy keeps from an external reader (text null) */
  withheld?: boolean;
  forward: Forward | null;
  /** an officer contained it (text null): members see a neutral notice */
  contained?: 'quarantined' | 'removed';
  /** POST /officer/context only: the text a quarantine keeps for review */
  held_text?: string;
  /** 'text' | 'reminder' (a fired reminder's card) | 'card' (a contact card) */
  kind?: 'text' | 'reminder' | 'card';
  reminder?: ReminderCard;
  card?: { user_id: number };
  /** burn-after-reading: text is always null here; POST /messages/{id}/open gives it once */
  burn?: boolean;
  burn_destroyed?: boolean;
  /** burn-after-reading: how many pictures it carries (the open lists them) */
  burn_images?: number;
  /** sent in by an external sender: what the guard's inbound scope warns of (internal readers only) */
  inbound_warning?: InboundWarning;
  /** photos and files sent with the message (absent or [] for none) */
  attachments?: Attachment[];
}

/** What a fired reminder's message carries (kind 'reminder'). */
export interface ReminderCard {
  reminder_id: number;
  due_at: number;
  late: boolean;
  repeat: Repeat;
  target: RemindTarget;
  user_ids: number[];
}

export type Repeat = 'once' | 'daily' | 'workdays' | 'weekly';
export type RemindTarget = 'me' | 'members' | 'all';

/** GET /conversations/{id}/reminders */
export interface Reminder {
  id: number;
  conversation_id: number;
  creator_id: number;
  text: string;
  at: number;
  repeat: Repeat;
  tz: string;
  target: RemindTarget;
  member_ids: number[];
  active: boolean;
  fired_count: number;
  last_fired_at: number;
}

/** GET /users/{id}/card: a contact card as the viewer may see it */
export interface ContactCard {
  id: number;
  login: string;
  display_name: string;
  external: boolean;
  phone: string | null;
  phone_masked: boolean;
}

/** docs/API.md, "Message": the inbound warning. action: warn, or confirm (open links only after acknowledging). */
export interface InboundWarning {
  action: Verdict;
  decided_by: string | null;
  findings: Finding[];
}

/** A file delivered with a message (docs/API.md, files). */
export interface Attachment {
  id: string;
  name: string;
  size: number;
  mime: string;
  kind: 'image' | 'file';
  width?: number;
  height?: number;
  /** the server has a thumbnail at /files/{id}/thumbnail */
  thumbnail: boolean;
  /** GPS/time/device metadata was removed before the file was stored */
  location_removed: boolean;
}

/** A finding in a file: where it was found instead of a byte span. */
export interface FileFinding {
  rule: string;
  category: string;
  severity: string;
  /** e.g. "page 1, OCR", "a.zip!b.docx!word/header1.xml" */
  location: string;
  excerpt: string;
  action: string;
  explanation?: string;
  /** the policy rule that decided this finding's action */
  policy_rule?: string | null;
}

/** GET /uploads/{id} and the `upload.state` event. */
export interface UploadInfo {
  id: string;
  state: 'uploading' | 'inspecting' | 'ready' | 'held' | 'blocked';
  offset: number;
  length: number;
  filename: string;
  mime: string;
  verdict: Verdict | null;
  /** the policy rule that decided, when the server names it */
  decided_by?: string | null;
  findings: FileFinding[];
  file_id: string | null;
  location_removed: boolean;
  error: string | null;
}

export interface Conversation {
  id: number;
  kind: 'direct' | 'group';
  title: string | null;
  external: boolean;
  /** members who join later also see earlier messages (groups) */
  shared_history?: boolean;
  created_at: number;
  my_role: 'owner' | 'admin' | 'member';
  /** absent in GET /conversations (the list has member_count only) */
  members?: Member[];
  member_count?: number;
  unread?: number;
  last_message?: Message | null;
}

export interface Finding {
  rule: string;
  category: string;
  severity: string;
  confidence: number | string;
  start: number;
  end: number;
  excerpt: string;
  explanation: string;
  action: string;
  policy_rule: string | null;
  evasion: boolean;
  /** findings in an attached file: where in the file (no byte span then) */
  location?: string;
  /** the attached file the finding is in (alerts) */
  file?: { id: string; name: string; mime: string; size: number };
}

/** GET /officer/files/{id}/text: what the guard read in a file an alert
 * names, part by part (a page's OCR text, a document's body). */
export interface FileText {
  file: { id: string; name: string; mime: string; size: number };
  parts: { location: string; text: string }[];
  truncated: boolean;
  status: 'scanned' | 'partial' | 'unscannable';
  ocr_images: number;
}

export interface GuardOutcome {
  verdict: Verdict;
  decided_by: string | null;
  status: 'scanned' | 'partial' | 'unscannable';
  findings: Finding[];
}

export interface AlertConversation {
  kind: 'direct' | 'group';
  title: string;
  external: boolean;
  /** direct conversations: the two members */
  member_ids?: number[];
}

export interface Alert {
  id: number;
  created_at: number;
  kind: 'guard' | 'override' | 'report';
  verdict: Verdict | 'report';
  decided_by: string | null;
  category: string | null;
  user_id: number;
  conversation_id: number | null;
  message_id: number | null;
  findings: Finding[];
  justification: string | null;
  status: 'open' | 'acked' | 'resolved';
  comment: string | null;
  handled_by: number | null;
  handled_at: number | null;
  /** the conversation, for naming it (officers are seldom members): GET /alerts and /alerts/{id} */
  conversation?: AlertConversation;
  /** where the alert's message stands in its forward tree (depth 0: an original) */
  forward?: { depth: number; root_message_id: number; root_sender_id: number };
  /** an officer contained the alert's message */
  contained?: 'quarantined' | 'removed';
  // as the server sends them (normalised into comment/handled_* by normAlert)
  acked_by?: number | null;
  acked_at?: number | null;
  ack_comment?: string | null;
  resolved_by?: number | null;
  resolved_at?: number | null;
  resolve_comment?: string | null;
  /** kind report: who reported (officers only), their note, the content as reported */
  reporter_id?: number | null;
  note?: string | null;
  evidence?: { message?: Message; user?: { id: number; login: string; display_name: string; external: boolean } };
}

/** GET /audit/verify (docs/API.md): the chain, then its signed checkpoints. */
export interface AuditCheckpoint {
  status: 'verified' | 'truncated' | 'mismatch' | 'bad_signature' | 'malformed' | 'other_database' | 'none' | 'unavailable' | 'skipped';
  seq?: number;
  hash?: string;
  time?: number;
  log_seq?: number;
  checked?: number;
  line?: number;
  message?: string;
}

export interface AuditVerify {
  ok: boolean;
  entries: number;
  first_bad: number | null;
  reason?: string;
  checkpoint?: AuditCheckpoint;
}

export interface AuditEntry {
  seq: number;
  created_at: number;
  actor_id: number | null;
  /** actor login as the server records it */
  actor?: string;
  action: string;
  target: string | null;
  detail: unknown;
  prev_hash: string;
  hash: string;
}

export type ServerEvent =
  | { type: 'hello'; user: User; session_id: number; server_time: number }
  | { type: 'message.new'; message: Message }
  | { type: 'message.recalled'; conversation_id: number; message_id: number; by?: 'officer'; contained?: 'quarantined' | 'removed' }
  | { type: 'message.restored'; conversation_id: number; message_id: number }
  | { type: 'message.burned' | 'burn.opened'; conversation_id: number; message_id: number; user_id?: number }
  | { type: 'reminder.created' | 'reminder.updated' | 'reminder.deleted' | 'reminder.fired'; conversation_id: number; reminder_id: number }
  | { type: 'reminder.due'; conversation_id: number; message_id: number; reminder_id: number; text: string; late: boolean }
  | { type: 'receipt'; conversation_id: number; kind: 'delivered' | 'read'; message_id: number; user_ids: number[] }
  | { type: 'conversation.updated'; conversation: Conversation }
  | { type: 'member.added' | 'member.removed'; conversation_id: number; user_id: number }
  | { type: 'alert.new' | 'alert.updated'; alert: Alert }
  | { type: 'session.revoked' }
  | { type: 'account.changed' }
  | { type: 'resync'; reason: string }
  /** A bus gap was filled: events since `since` (ms) may be missing; re-read within spread_ms. */
  | { type: 'sync'; since: number; spread_ms?: number }
  | ({ type: 'upload.state' } & UploadInfo)
  | { type: 'pong'; req?: number }
  | { type: 'message.ack'; req: number; message: Message; guard: GuardOutcome; duplicate: boolean }
  | { type: 'error'; req?: number; error: { code: string; message: string }; guard?: GuardOutcome };

/** GET /officer/stats: alerts over a period, counted by the server. */
export interface AlertStats {
  from: number;
  to: number;
  tz_offset_minutes: number;
  total: number;
  truncated: boolean;
  by_day: Record<string, number>;
  by_category: Record<string, number>;
  by_rule: Record<string, number>;
  by_verdict: Record<string, number>;
  /** by the department of the alert's user ("" = none) */
  by_department?: Record<string, { count: number; by_category: Record<string, number> }>;
  /** the conversations with most alerts, most first */
  by_group?: { conversation_id: number; title: string; kind: 'direct' | 'group'; count: number }[];
  rows: { day: number; category: string; rule: string | null; verdict: string; count: number }[];
}

/** GET /officer/spread (docs/API.md, "Trace and contain"): one copy of a message. */
export interface SpreadCopy {
  message_id: number;
  conversation: { id: number; kind: 'direct' | 'group'; title: string; external: boolean; member_ids?: number[] };
  sender_id: number;
  parent_id: number | null;
  depth: number;
  created_at: number;
  state: 'visible' | 'recalled' | 'quarantined' | 'removed';
  recipients: number[];
  read_by: number[];
  /** in a file's spread: the message its forward tree starts from, and its files */
  origin_id?: number;
  file_ids?: string[];
}

/** GET /officer/spread?file_id=: every message that delivers the file's bytes. */
export interface FileSpread {
  file: { id: string; name: string; mime: string; size: number; image: boolean; owner_id: number; conversation_id: number; state: string; created_at: number };
  truncated: boolean;
  copies: SpreadCopy[];
  totals: { copies: number; origins: number; conversations: number; recipients: number; readers: number };
}

export interface Spread {
  root_message_id: number;
  root_sender_id: number;
  truncated: boolean;
  copies: SpreadCopy[];
  totals: { copies: number; conversations: number; recipients: number; readers: number };
}

export type ContainAction = 'remove' | 'quarantine' | 'restore';

export interface ContainResult {
  action: ContainAction;
  scope: 'copy' | 'tree';
  root_message_id: number;
  copies: number;
  changed_count: number;
  unchanged_count: number;
  changed: { message_id: number; conversation_id: number }[];
  file_id?: string;
  blobs_removed?: number;
}

/** POST /officer/context: the conversation around a message, for an officer with a reason. */
export interface OfficerContext {
  message_id: number;
  conversation: Conversation;
  messages: Message[];
}

/** POST /files/{id}/ocr: what OCR read, and whether the guard keeps it inside the app. */
export interface OcrResult {
  file_id: string;
  text: string;
  /** a marked document's text: shown here, never copied, shared or downloaded */
  kept_in_chat: boolean;
  /** more text than the server hands back */
  truncated: boolean;
  status: 'scanned' | 'partial' | 'unscannable';
  guard: GuardOutcome;
}
