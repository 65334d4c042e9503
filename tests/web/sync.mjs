// The `sync` frame in the web client (docs/API.md; docs/SCALING.md, "A
// lost bus message is never a lost message"): with several nodes, a node
// that lost bus events (Redis restarted) fills the messages from the store
// and then tells each open socket `{"type":"sync","since":…}`; the client,
// without reconnecting, reads again what the bus alone carried.
//
// A real bus gap needs two nodes on PostgreSQL and Redis (tested in
// tests/server/test/cluster.test.js, which checks that the server sends
// the frame after such a gap). Here one real `cordon serve` and Debian's
// Chromium stand for the client's side: the page's WebSocket goes through
// Playwright's routeWebSocket, which drops the events of the "gap" — as a
// lost bus message would — and then hands the page the server's frame:
//
//  - another member renames the group and recalls a message while the
//    page's events are lost: the title and the message stay as they were;
//  - after `sync` the page shows the new title (header and list) and the
//    message as recalled, on the same socket (no reconnect);
//  - zh-CN and English, desktop and 390×844 phone, screenshots; no English
//    in the Chinese screens' words.
//
// usage: node sync.mjs CORDON_EXE WEB_DIST_DIR WEB_SOURCE_DIR SHOTS_DIR
import path from 'node:path';
import { setup, expectTrue, DESKTOP, PHONE, PW } from './harness.mjs';

const h = await setup('sync', process.argv.slice(2));
const { call, mkUser, test, SHOTS, base } = h;

const alice = await mkUser('alice', '王小丽');
await mkUser('bob', '李建国');
const bs = await call('POST', '/auth/login', { login: 'bob', password: PW });
let n = 0;
const sendAs = (cid, text) => call('POST', `/conversations/${cid}/messages`, { client_id: `s${++n}`, text }, bs.token);

await h.launch();
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });

// The page's socket through a relay that can lose the server's events
// (frames without `req`: pongs and acks still pass) and hand the page a frame.
async function relayed(page) {
  const r = { sockets: 0, losing: false, lost: [], toPage: null };
  await page.routeWebSocket(/\/api\/v1\/ws/, (ws) => {
    r.sockets++;
    const server = ws.connectToServer();
    ws.onMessage((m) => server.send(m));
    server.onMessage((m) => {
      const e = JSON.parse(String(m));
      if (r.losing && e.req === undefined && e.type !== 'hello') {
        r.lost.push(e.type);
        return;
      }
      ws.send(m);
    });
    r.toPage = (obj) => ws.send(JSON.stringify(obj));
  });
  return r;
}

const WORDS = {
  zh: { before: '周例会', after: '周例会（改到周四）' },
  en: { before: 'Weekly meeting', after: 'Weekly meeting (moved to Thursday)' },
};

for (const [lang, viewport, vname] of [['zh', DESKTOP, 'desktop'], ['en', DESKTOP, 'desktop'], ['zh', PHONE, 'phone'], ['en', PHONE, 'phone']]) {
  await test(`${lang} ${vname}: after a sync the renamed title and the recalled message show, on the same socket`, async () => {
    const w = WORDS[lang];
    const conv = await call('POST', '/conversations', { kind: 'group', title: w.before, member_ids: [alice.id] }, bs.token);
    await sendAs(conv.id, lang === 'zh' ? '周例会的材料已经发到群里。' : 'The papers for the meeting are in the group.');
    const second = await sendAs(conv.id, lang === 'zh' ? '会议室改到三楼。' : 'The room is now on the third floor.');
    const A = await h.newPage(`alice-${lang}-${vname}`, { viewport, lang, touch: viewport.width < 500 });
    const relay = await relayed(A);
    await h.signIn(A, 'alice');
    await A.goto(`${base}/#/chat/${conv.id}`);
    const title = A.locator('[data-testid=conv-title]');
    await A.locator(`[data-msg-id="${second.message.id}"]`).waitFor();
    expectTrue((await title.innerText()) === w.before, `title before: ${await title.innerText()}`);
    expectTrue(relay.sockets === 1, 'one socket');

    // the gap: what bob does reaches the server, its events not this page
    relay.losing = true;
    await call('PATCH', `/conversations/${conv.id}`, { title: w.after }, bs.token);
    await call('POST', `/messages/${second.message.id}/recall`, {}, bs.token);
    // wait for both events (a receipt may be lost first: counting two events was not enough)
    const both = () => relay.lost.includes('conversation.updated') && relay.lost.includes('message.recalled');
    for (let i = 0; i < 150 && !both(); i++) await A.waitForTimeout(100);
    expectTrue(relay.lost.includes('conversation.updated') && relay.lost.includes('message.recalled'),
      `the events were lost: ${relay.lost}`);
    await A.waitForTimeout(300);
    expectTrue((await title.innerText()) === w.before, 'nothing changed without the events');
    expectTrue(await A.locator(`[data-testid=recalled][data-msg-id="${second.message.id}"]`).count() === 0, 'not shown recalled yet');

    // the node filled the gap and says so
    relay.losing = false;
    relay.toPage({ type: 'sync', since: Date.now() - 10000, spread_ms: 0 });
    await A.locator('[data-testid=conv-title]', { hasText: w.after }).waitFor();
    await A.locator(`[data-testid=recalled][data-msg-id="${second.message.id}"]`).waitFor();
    if (viewport.width >= 500) {
      await A.locator(`[data-testid=conv-item][data-conv-id="${conv.id}"]`, { hasText: w.after }).waitFor();
    }
    await shot(A, `${lang}-${vname}-after-sync`);
    const text = await A.locator('body').innerText();
    if (lang === 'zh') {
      expectTrue(text.includes('李建国 撤回了一条消息'), 'the recall worded in Chinese');
      expectTrue(!/recalled|Members|members/.test(text), 'no English in the Chinese screen');
    } else {
      expectTrue(/recalled a message/.test(text), 'the recall worded in English');
    }
    expectTrue(relay.sockets === 1, `the same socket (${relay.sockets} opened)`);
    if (viewport.width < 500) {
      // the list, on a phone a screen of its own
      await A.goto(`${base}/#/chat`);
      await A.locator(`[data-testid=conv-item][data-conv-id="${conv.id}"]`, { hasText: w.after }).waitFor();
      await shot(A, `${lang}-${vname}-list-after-sync`);
    }
    await A.context().close();
  });
}

await test('no script errors', async () => {
  expectTrue(h.errors.length === 0, h.errors.join('\n'));
});
await h.finish();
