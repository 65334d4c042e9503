// The state of files waiting to be sent and how their numbers are shown
// (src/uploads.ts, src/uploader.ts idOf).
import { describe, expect, it } from 'vitest';
import {
  SpeedMeter, applyInfo, checkSend, fileKind, findingWhere, formatBytes, formatEta, formatSpeed, fromRecord,
  iconLabel, loadRecords, locationLabel, matchDetached, percent, saveRecords, uploadErrorCode, type PendingFile,
} from '../src/uploads';
import { Uploader, idOf } from '../src/uploader';
import type { Api } from '../src/api';
import type { UploadInfo } from '../src/types';

function pf(over: Partial<PendingFile> = {}): PendingFile {
  return {
    key: 'k1', conv: 7, name: 'a.jpg', size: 1000, type: 'image/jpeg', lastModified: 1, sent: 0, status: 'uploading',
    uploadId: 'up1', info: null, error: null, speed: 0, eta: null, preview: null, ...over,
  };
}
function info(over: Partial<UploadInfo> = {}): UploadInfo {
  return {
    id: 'up1', state: 'ready', offset: 1000, length: 1000, filename: 'a.jpg', mime: 'image/jpeg', verdict: 'allow',
    findings: [], file_id: 'f1', location_removed: false, error: null, ...over,
  };
}

describe('formatBytes', () => {
  it('uses bytes below 1 KiB and binary units above', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(200 * 1024)).toBe('200 KiB');
    expect(formatBytes(12.34 * 1024 * 1024)).toBe('12.3 MiB');
    expect(formatBytes(2 * 1024 ** 3)).toBe('2.00 GiB');
  });
  it('does not invent a size for nonsense', () => {
    expect(formatBytes(-1)).toBe('—');
    expect(formatBytes(NaN)).toBe('—');
  });
});

describe('speed and time left', () => {
  it('words the speed in both languages', () => {
    expect(formatSpeed(1.5 * 1024 * 1024, 'zh')).toBe('1.5 MiB/秒');
    expect(formatSpeed(2048, 'en')).toBe('2.0 KiB/s');
  });
  it('words the time left in seconds, minutes and hours', () => {
    expect(formatEta(8, 'zh')).toBe('剩余 8 秒');
    expect(formatEta(125, 'zh')).toBe('剩余 2 分 05 秒');
    expect(formatEta(3780, 'zh')).toBe('剩余 1 小时 03 分');
    expect(formatEta(8, 'en')).toBe('8 s left');
    expect(formatEta(125, 'en')).toBe('2 min 05 s left');
    expect(formatEta(3780, 'en')).toBe('1 h 03 min left');
    expect(formatEta(null, 'zh')).toBe('正在估算剩余时间');
  });
  it('measures the rate over a sliding window and predicts the end', () => {
    const m = new SpeedMeter(5000);
    expect(m.rate()).toBe(0);
    expect(m.eta(1000)).toBeNull();
    m.add(0, 0);
    m.add(100, 100); // under 200 ms: too soon to tell
    expect(m.rate()).toBe(0);
    m.add(1000, 1000);
    expect(m.rate()).toBe(1000);
    expect(m.eta(11000)).toBe(10);
    // old samples leave the window: the rate follows the recent speed
    m.add(1000 + 2000 * 9, 10000);
    m.add(1000 + 2000 * 10, 11000);
    expect(m.rate()).toBeCloseTo(2000, -1);
  });
  it('starts afresh when the offset goes back (a resumed upload)', () => {
    const m = new SpeedMeter();
    m.add(5000, 0);
    m.add(6000, 1000);
    m.add(100, 1500);
    expect(m.rate()).toBe(0);
  });
  it('shows 100 % only when every byte is there', () => {
    expect(percent(0, 10)).toBe(0);
    expect(percent(999, 1000)).toBe(99);
    expect(percent(1000, 1000)).toBe(100);
    expect(percent(0, 0)).toBe(100);
  });
});

describe('pending file state', () => {
  it('takes the verdict from the server once inspected', () => {
    const p = applyInfo(pf({ status: 'inspecting', sent: 1000 }), info({ location_removed: true }));
    expect(p.status).toBe('ready');
    expect(p.info?.file_id).toBe('f1');
    expect(p.info?.location_removed).toBe(true);
    expect(applyInfo(pf({ status: 'inspecting' }), info({ state: 'held', verdict: 'confirm' })).status).toBe('held');
    const b = applyInfo(pf({ status: 'inspecting' }), info({ state: 'blocked', verdict: 'block', file_id: null, error: 'uninspectable' }));
    expect(b.status).toBe('blocked');
    expect(b.error).toBe('uninspectable');
  });
  it('keeps a page-side transfer state while the server still says uploading', () => {
    const p = applyInfo(pf({ status: 'paused', sent: 10 }), info({ state: 'uploading', offset: 400, file_id: null }));
    expect(p.status).toBe('paused');
    expect(p.sent).toBe(400);
  });
  it('sends only when every file is inspected and none is blocked', () => {
    expect(checkSend([])).toMatchObject({ ok: true, fileIds: [] });
    const ready = pf({ status: 'ready', info: info() });
    const held = pf({ key: 'k2', status: 'held', info: info({ id: 'up2', state: 'held', verdict: 'confirm', file_id: 'f2' }) });
    expect(checkSend([ready, held])).toMatchObject({ ok: true, fileIds: ['f1', 'f2'], held: true });
    expect(checkSend([ready, pf({ key: 'k3', status: 'inspecting' })])).toMatchObject({ ok: false, waiting: 1 });
    expect(checkSend([ready, pf({ key: 'k4', status: 'uploading' })])).toMatchObject({ ok: false, waiting: 1 });
    expect(checkSend([ready, pf({ key: 'k5', status: 'blocked' })])).toMatchObject({ ok: false, blocked: 1 });
    const ten = Array.from({ length: 10 }, (_, i) => pf({ key: `k${i}`, status: 'ready', info: info({ file_id: `f${i}` }) }));
    expect(checkSend(ten)).toMatchObject({ ok: false, tooMany: true });
  });
});

describe('where a finding is in a file', () => {
  it('words pages, OCR and metadata, and keeps paths inside archives', () => {
    expect(locationLabel('page 1, OCR', 'zh')).toBe('第 1 页 OCR');
    expect(locationLabel('page 2 ocr header', 'zh')).toBe('第 2 页 OCR 页眉');
    expect(locationLabel('ocr', 'zh')).toBe('OCR');
    expect(locationLabel('page 1 ocr', 'en')).toBe('page 1 OCR');
    expect(locationLabel('page:3;red_header', 'zh')).toBe('第 3 页 红头');
    expect(locationLabel('metadata', 'zh')).toBe('元数据');
    expect(locationLabel('exif:GPSLatitude', 'zh')).toBe('照片元数据（GPSLatitude）');
    expect(locationLabel('a.zip!b.docx!word/header1.xml', 'zh')).toBe('a.zip › b.docx › word/header1.xml');
    expect(locationLabel('x.png!x.png!ocr', 'zh')).toBe('x.png › OCR');
    expect(locationLabel('', 'zh')).toBe('');
  });
  it('says where, then what was found', () => {
    expect(findingWhere({ location: 'page 1, OCR', excerpt: '机密★1年' }, 'zh')).toBe('第 1 页 OCR：机密★1年');
    expect(findingWhere({ location: 'page 1 ocr', excerpt: '机密★1年' }, 'en')).toBe('page 1 OCR: 机密★1年');
    expect(findingWhere({ location: '', excerpt: '机密' }, 'zh')).toBe('机密');
  });
});

describe('file kinds', () => {
  it('tells the kind from the detected type first, then the name', () => {
    expect(fileKind('x.bin', 'image/png')).toBe('image');
    expect(fileKind('report.pdf', '')).toBe('pdf');
    expect(fileKind('a.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document')).toBe('doc');
    expect(fileKind('b.xlsx', '')).toBe('sheet');
    expect(fileKind('c.pptx', '')).toBe('slides');
    expect(fileKind('d.zip', 'application/zip')).toBe('archive');
    expect(fileKind('e', 'application/octet-stream')).toBe('other');
    expect(iconLabel('report.pdf', 'pdf')).toBe('PDF');
    expect(iconLabel('noext', 'other')).toBe('?');
  });
});

describe('errors of an upload', () => {
  it('uses the server code when the body names one, else the status', () => {
    expect(uploadErrorCode(413)).toBe('upload_too_large');
    expect(uploadErrorCode(415)).toBe('upload_type_refused');
    expect(uploadErrorCode(429)).toBe('upload_quota');
    expect(uploadErrorCode(404)).toBe('upload_not_member');
    expect(uploadErrorCode(460)).toBe('upload_checksum');
    expect(uploadErrorCode(0)).toBe('upload_network');
    expect(uploadErrorCode(503)).toBe('upload_server');
    expect(uploadErrorCode(413, '{"error":{"code":"upload_too_large","max":2147483648}}')).toBe('upload_too_large');
    expect(uploadErrorCode(415, 'not json')).toBe('upload_type_refused');
    expect(uploadErrorCode(404, '{"error":{"code":"not_found"}}')).toBe('upload_not_member');
    expect(uploadErrorCode(460, '{"error":{"code":"checksum_mismatch"}}')).toBe('upload_checksum');
  });
});

describe('what survives a reload', () => {
  function mem(): Storage {
    const m = new Map<string, string>();
    return {
      get length() { return m.size; },
      clear: () => m.clear(), key: (i) => [...m.keys()][i] ?? null,
      getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v), removeItem: (k) => void m.delete(k),
    };
  }
  it('keeps ids and names only, per user, and finds the upload a re-picked file resumes', () => {
    const s = mem();
    saveRecords(s, 3, [pf({ preview: 'blob:x' }), pf({ key: 'k2', uploadId: null })]);
    const raw = s.getItem('cordon.uploads.3')!;
    expect(JSON.parse(raw)).toEqual([{ id: 'up1', conv: 7, name: 'a.jpg', size: 1000, type: 'image/jpeg', lastModified: 1 }]);
    expect(loadRecords(s, 4)).toEqual([]);
    const back = loadRecords(s, 3).map((r, i) => fromRecord(r, `r${i}`));
    expect(back[0].status).toBe('detached');
    expect(matchDetached(back, 7, { name: 'a.jpg', size: 1000 })?.uploadId).toBe('up1');
    expect(matchDetached(back, 8, { name: 'a.jpg', size: 1000 })).toBeUndefined();
    saveRecords(s, 3, []);
    expect(s.getItem('cordon.uploads.3')).toBeNull();
  });
  it('ignores what it did not write', () => {
    const s = mem();
    s.setItem('cordon.uploads.3', '[{"id":"../../etc","conv":1,"name":"x"},{"id":"ok","conv":1,"name":"y"}]');
    expect(loadRecords(s, 3).map((r) => r.id)).toEqual(['ok']);
    s.setItem('cordon.uploads.3', '{not json');
    expect(loadRecords(s, 3)).toEqual([]);
  });
  it('reads the upload id from its URL', () => {
    expect(idOf('http://h/api/v1/uploads/abc_12-Z')).toBe('abc_12-Z');
    expect(idOf('/api/v1/uploads/abc?x=1')).toBe('abc');
    expect(idOf(null)).toBeNull();
    expect(idOf('http://h/other/abc')).toBeNull();
  });
});

describe('the words of files', () => {
  it('have no English inside the Chinese ones but for units and abbreviations Chinese uses', async () => {
    const { zhFiles, enFiles } = await import('../src/i18n-files');
    expect(Object.keys(enFiles).sort()).toEqual(Object.keys(zhFiles).sort());
    const allow = new Set(['OCR', 'PDF', 'Esc']);
    for (const [k, v] of Object.entries(zhFiles)) {
      const words = (v.replace(/\{\w+\}/g, '').match(/[A-Za-z]{2,}/g) ?? []).filter((w) => !allow.has(w));
      expect(words, k).toEqual([]);
    }
  });
});

describe('findings named from the file down', () => {
  it('leaves out the file\'s own name and an image detector\'s English description', () => {
    expect(locationLabel('gps.jpg!metadata', 'zh', 'gps.jpg')).toBe('元数据');
    expect(locationLabel('page_clean.png!ocr header', 'zh', 'page_clean.png')).toBe('OCR 页眉');
    expect(locationLabel('page_clean.png', 'zh', 'page_clean.png')).toBe('');
    expect(locationLabel('a.zip!b.docx!word/header1.xml', 'zh', 'a.zip')).toBe('b.docx › word/header1.xml');
    expect(locationLabel('x.png!x.png!ocr header', 'zh', 'x.png')).toBe('OCR 页眉');
    expect(findingWhere({ location: 'page_clean.png!ocr', excerpt: '机密★1年' }, 'zh', 'page_clean.png')).toBe('OCR：机密★1年');
    expect(findingWhere({ location: 'page_clean.png', excerpt: 'red masthead and red rule', rule: 'image.red_header' }, 'zh', 'page_clean.png')).toBe('');
  });
});

describe('the session\'s uploads', () => {
  function mem(init: Record<string, string>): Storage {
    const m = new Map(Object.entries(init));
    return {
      get length() { return m.size; },
      clear: () => m.clear(), key: (i) => [...m.keys()][i] ?? null,
      getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v), removeItem: (k) => void m.delete(k),
    };
  }
  it('come back after a reload with the server\'s state, and leave nothing behind at sign-out', async () => {
    const st = mem({
      'cordon.uploads.3': JSON.stringify([
        { id: 'up1', conv: 7, name: 'a.jpg', size: 1000, type: 'image/jpeg', lastModified: 1 },
        { id: 'up2', conv: 7, name: 'big.bin', size: 5000, type: '', lastModified: 2 },
      ]),
      'tus::cordon/3/7/big.bin//5000/2::1': JSON.stringify({ uploadUrl: 'http://h/api/v1/uploads/up2', size: 5000 }),
      'cordon.lang': 'zh',
    });
    const api = {
      uploadInfo: async (id: string) => (id === 'up1'
        ? info({ id: 'up1', location_removed: true })
        : info({ id: 'up2', state: 'uploading', offset: 2048, length: 5000, file_id: null, verdict: null })),
    } as unknown as Api;
    const u = new Uploader(api, 3, st, 'http://h/api/v1/uploads');
    await u.restore();
    const l = u.forConv(7);
    expect(l.map((p) => [p.name, p.status, p.sent])).toEqual([['a.jpg', 'ready', 1000], ['big.bin', 'detached', 2048]]);
    expect(checkSend(l).ok).toBe(false); // the detached one must be picked again or removed
    u.forget();
    u.stop();
    expect(u.items.get()).toEqual([]);
    expect(st.getItem('cordon.uploads.3')).toBeNull();
    expect(st.getItem('tus::cordon/3/7/big.bin//5000/2::1')).toBeNull();
    expect(st.getItem('cordon.lang')).toBe('zh');
  });
});
