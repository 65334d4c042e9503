import { useEffect, useRef, useState } from 'preact/hooks';
import { formatDateTime } from '../format';
import { t } from '../i18n';

/** Renders the watermark tile (rotated text lines) to a PNG data URL. */
export function watermarkTile(lines: string[]): string {
  const c = document.createElement('canvas');
  const w = 320;
  const h = 200;
  const dpr = Math.min(2, globalThis.devicePixelRatio || 1);
  c.width = w * dpr;
  c.height = h * dpr;
  const g = c.getContext('2d');
  if (!g) return '';
  g.scale(dpr, dpr);
  g.translate(w / 2, h / 2);
  g.rotate(-Math.PI / 9);
  g.fillStyle = 'rgba(60, 60, 60, 0.13)';
  g.font = '15px "Noto Sans CJK SC", "WenQuanYi Zen Hei", "Microsoft YaHei", sans-serif';
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  lines.forEach((l, i) => g.fillText(l, 0, (i - (lines.length - 1) / 2) * 22));
  return c.toDataURL('image/png');
}

const STYLE = 'position:absolute;inset:0;z-index:50;pointer-events:none;background-repeat:repeat;';

/** A tiled, semi-transparent overlay naming the viewer over its parent
 *  (which must be position:relative). It does not take clicks, and it is put
 *  back if it is removed from the DOM or its style is changed. */
export function Watermark(props: { name: string; account: string; date: string }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const parent = host.current!.parentElement!;
    const lines = [props.name, props.account, props.date];
    const url = watermarkTile(lines);
    const text = lines.join(' · ');
    let el: HTMLDivElement | null = null;
    const make = () => {
      el = document.createElement('div');
      el.className = 'watermark';
      el.setAttribute('aria-hidden', 'true');
      el.setAttribute('data-testid', 'watermark');
      el.setAttribute('data-text', text);
      el.title = t('wm.label');
      el.setAttribute('style', STYLE + (url ? `background-image:url("${url}")` : ''));
      parent.appendChild(el);
    };
    make();
    let restoring = false;
    const obs = new MutationObserver(() => {
      if (restoring) return;
      restoring = true;
      if (!el || !el.isConnected || el.parentElement !== parent) {
        el?.remove();
        make();
      } else if (!el.getAttribute('style')?.startsWith(STYLE) || el.className !== 'watermark' || el.hasAttribute('hidden')) {
        el.remove();
        make();
      }
      restoring = false;
    });
    obs.observe(parent, { childList: true, subtree: true, attributes: true, attributeFilter: ['style', 'class', 'hidden'] });
    // belt and braces: also check periodically (covers parent replacement of styles via CSSOM)
    const iv = setInterval(() => {
      if (!el?.isConnected) make();
    }, 2000);
    return () => {
      obs.disconnect();
      clearInterval(iv);
      el?.remove();
    };
  }, [props.name, props.account, props.date]);
  return <span ref={host} hidden />;
}

/** The watermark of the signed-in viewer: name, account and the time to
 *  the minute (a screenshot says when), redrawn as the minute turns. Used
 *  over every conversation view and the officers' console. */
export function ViewerWatermark(props: { user: { id: number; login: string; display_name: string } }) {
  const u = props.user;
  const minute = () => formatDateTime(Date.now()).slice(0, 16);
  const [now, setNow] = useState(minute);
  useEffect(() => {
    const iv = setInterval(() => setNow(minute()), 15000);
    return () => clearInterval(iv);
  }, []);
  return <Watermark name={u.display_name || u.login} account={`${u.login} (#${u.id})`} date={now} />;
}
