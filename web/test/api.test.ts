import { describe, expect, it } from 'vitest';
import { Api, ApiError, newClientId } from '../src/api';
import { errMsg } from '../src/hooks';
import { policyRuleLabel, reasonLabel, setLang, severityLabel } from '../src/i18n';

type Call = { url: string; init: RequestInit };
function fake(status: number, body: unknown, headers: Record<string, string> = {}) {
  const calls: Call[] = [];
  const fn = async (url: string, init?: RequestInit) => {
    calls.push({ url, init: init ?? {} });
    return new Response(status === 204 ? null : JSON.stringify(body), { status, headers });
  };
  return { calls, fn };
}

describe('Api', () => {
  it('sends JSON with the session cookie and parses the answer', async () => {
    const f = fake(200, { token: 't', user: { id: 1 }, must_change_password: true, session_id: 3 });
    const api = new Api(f.fn);
    const r = await api.login('alice', 'pw');
    expect(r.must_change_password).toBe(true);
    expect(f.calls[0].url).toBe('/api/v1/auth/login');
    expect(f.calls[0].init.method).toBe('POST');
    expect(f.calls[0].init.credentials).toBe('same-origin');
    expect(JSON.parse(String(f.calls[0].init.body))).toEqual({ login: 'alice', password: 'pw' });
  });
  it('words the error codes it knows in the current language, else shows the server message', () => {
    setLang('zh');
    expect(errMsg(new ApiError(422, 'user_disabled', 'user 4 is disabled'))).toBe('该账号已停用，不能加入会话。');
    setLang('en');
    expect(errMsg(new ApiError(403, 'origin_refused', 'x'))).toContain('another site');
    expect(errMsg(new ApiError(429, 'rate_limited', 'x', undefined, 7))).toBe('Too many requests. Try again in 7 s.');
    expect(errMsg(new ApiError(409, 'no_such_code', 'the server says'))).toBe('the server says');
    setLang('zh');
  });
  it('says JSON on every request that may change state, even without a body', async () => {
    const f = fake(204, null);
    const api = new Api(f.fn);
    await api.revokeSession(4);
    expect((f.calls[0].init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
    await api.me().catch(() => undefined);
    expect((f.calls[1].init.headers as Record<string, string>)['Content-Type']).toBeUndefined();
  });
  it('adds totp only when given', async () => {
    const f = fake(200, {});
    await new Api(f.fn).login('a', 'b', '123456');
    expect(JSON.parse(String(f.calls[0].init.body)).totp).toBe('123456');
  });
  it('turns error bodies into ApiError with the guard outcome', async () => {
    const guard = { verdict: 'confirm', decided_by: 'commercial-marking', status: 'scanned', findings: [] };
    const f = fake(409, { error: { code: 'guard_confirm', message: 'held' }, guard });
    const e = await new Api(f.fn).send(1, 'c1', 'x').catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(409);
    expect(e.code).toBe('guard_confirm');
    expect(e.guard.decided_by).toBe('commercial-marking');
  });
  it('words the title and display-name error codes in both languages, with their parameters', async () => {
    const guard = { verdict: 'block', decided_by: 'classified-marking', status: 'scanned', findings: [] };
    const long = await new Api(fake(422, { error: { code: 'title_too_long', message: 'x', field: 'title', max: 128 } }).fn)
      .createConversation('group', [2], 'x').catch((x) => x);
    expect(long.detail).toEqual({ field: 'title', max: 128 });
    const blocked = await new Api(fake(422, { error: { code: 'guard_blocked', message: 'x', field: 'display_name' }, guard }).fn)
      .createConversation('group', [2], 'x').catch((x) => x);
    const ext = await new Api(fake(422, { error: { code: 'title_not_for_external', message: 'x', field: 'title' }, guard }).fn)
      .addMember(1, 2).catch((x) => x);
    const other = await new Api(fake(422, { error: { code: 'invalid', message: 'server words' } }).fn)
      .addMember(1, 2).catch((x) => x);
    try {
      setLang('zh');
      expect(errMsg(long)).toBe('群名称最多 128 个字符。');
      expect(errMsg(blocked)).toContain('显示名');
      expect(errMsg(blocked)).toContain('密级标志（拦截）'); // the rule by its display name
      expect(errMsg(ext)).toContain('外部');
      expect(errMsg(other)).toBe('server words');
      setLang('en');
      expect(errMsg(long)).toBe('A group name has at most 128 characters.');
      expect(errMsg(blocked)).toContain('display name');
      for (const code of ['title_invalid', 'display_name_invalid', 'display_name_too_long']) {
        const e = new ApiError(422, code, 'server words', undefined, undefined, { max: 64 });
        expect(errMsg(e)).not.toBe('server words');
      }
    } finally {
      setLang('zh');
    }
  });
  it('sends the justification and tells a duplicate (200) from a new message (201)', async () => {
    const f = fake(200, { message: { id: 5 }, guard: { verdict: 'allow' } });
    const r = await new Api(f.fn).send(7, 'cid', 'text', 'because');
    expect(r.duplicate).toBe(true);
    expect(f.calls[0].url).toBe('/api/v1/conversations/7/messages');
    expect(JSON.parse(String(f.calls[0].init.body))).toEqual({ client_id: 'cid', text: 'text', justification: 'because' });
    const g = fake(201, { message: { id: 5 }, guard: { verdict: 'allow' } });
    expect((await new Api(g.fn).send(7, 'cid', 'text')).duplicate).toBe(false);
  });
  it('builds query strings, skipping empty values', async () => {
    const f = fake(200, { alerts: [], next_before: null });
    await new Api(f.fn).alerts({ status: 'open', category: undefined, user_id: 4, before: 10, limit: 50 });
    expect(f.calls[0].url).toBe('/api/v1/alerts?status=open&user_id=4&before=10&limit=50');
    const g = fake(200, { messages: [], next_before: null });
    await new Api(g.fn).messages(3, null, 20);
    expect(g.calls[0].url).toBe('/api/v1/conversations/3/messages?limit=20');
  });
  it('handles 204, 401 and Retry-After', async () => {
    expect(await new Api(fake(204, null).fn).recall(1)).toBeUndefined();
    let called = 0;
    const api = new Api(fake(401, { error: { code: 'unauthorized', message: 'no' } }).fn);
    api.onUnauthorized = () => called++;
    await api.me().catch(() => undefined);
    expect(called).toBe(1);
    const e = await new Api(fake(429, { error: { code: 'rate_limited', message: 'slow' } }, { 'Retry-After': '7' }).fn).me().catch((x) => x);
    expect(e.retryAfter).toBe(7);
  });
  it('network failure is an ApiError with status 0', async () => {
    const api = new Api(async () => { throw new TypeError('Failed to fetch'); });
    const e = await api.me().catch((x) => x);
    expect(e).toMatchObject({ status: 0, code: 'network' });
  });
  it('client ids are unique and within 64 bytes', () => {
    const s = new Set(Array.from({ length: 1000 }, () => newClientId()));
    expect(s.size).toBe(1000);
    for (const x of s) expect(x.length).toBeLessThanOrEqual(64);
  });
});

describe('codes worded by the client (issue 17)', () => {
  it('words message_too_large in characters a writer can count', () => {
    const e = new ApiError(422, 'message_too_large', 'a message has at most 16384 bytes', undefined, undefined, { max: 16384 });
    try {
      setLang('zh');
      expect(errMsg(e)).toBe('消息过长（最多约 5400 个汉字）。');
      setLang('en');
      expect(errMsg(e)).toContain('16384 bytes');
    } finally {
      setLang('zh');
    }
  });
  it('words a refused password by its reason code, not the server\'s English', async () => {
    const r = await new Api(fake(422, { error: { code: 'invalid', message: 'fewer than 5 different characters', reason: 'too_few_distinct' } }).fn)
      .changePassword('old-password-1', 'ababababab').catch((x) => x);
    expect(r.detail.reason).toBe('too_few_distinct');
    expect(errMsg(r)).toBe('新密码至少要有 5 个不同的字符。');
  });
  it('words finding reasons by detector rule, falling back along the rule\'s prefix', () => {
    setLang('zh');
    expect(reasonLabel({ rule: 'pii.cn_id', category: 'pii', explanation: 'PRC resident ID number' })).toBe('居民身份证号码');
    expect(reasonLabel({ rule: 'uninspectable.limit.ratio', category: 'uninspectable', explanation: 'ratio over 200' })).toBe('超出检查限制，未能完整检查');
    expect(reasonLabel({ rule: 'lexicon.projects', category: 'lexicon', explanation: 'term from projects.tsv' })).toBe('命中本单位敏感词库');
    expect(reasonLabel({ rule: 'x.unknown', category: 'pii', explanation: 'english words' })).toBe('个人信息');
    expect(policyRuleLabel('secret-credential')).toBe('密钥口令（拦截）');
    expect(policyRuleLabel('site-own-rule')).toBe('site-own-rule');
    expect(severityLabel('high')).toBe('高');
  });
});
