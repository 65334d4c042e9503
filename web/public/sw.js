// The service worker of the web client: it caches the application shell
// (index.html and the hashed script and style bundles, the icons, the
// manifest) so the client opens at once and installs as an app — and NEVER
// anything under /api/: messages, files, names and alerts are fetched from
// the server each time and never written to the browser's cache storage,
// where they would outlive a logout, a recall or a burn.
const CACHE = 'cordon-shell-v1';
const SHELL = ['/', '/manifest.webmanifest', '/icons/icon-192.png', '/icons/icon-512.png'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function isShell(url) {
  return url.origin === self.location.origin && !url.pathname.startsWith('/api/') &&
    (url.pathname === '/' || url.pathname.startsWith('/assets/') || url.pathname.startsWith('/icons/') ||
     url.pathname === '/manifest.webmanifest');
}

self.addEventListener('fetch', (e) => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  if (req.mode === 'navigate') {
    // the page itself: the network first (a new version is picked up at
    // once), the cached shell when offline; client-side routes are the shell
    e.respondWith(
      fetch(req).then((r) => {
        if (r.ok && url.pathname === '/') caches.open(CACHE).then((c) => c.put('/', r.clone()));
        return r;
      }).catch(() => caches.match('/')),
    );
    return;
  }
  if (!isShell(url)) return;
  // hashed bundles never change: the cache first, filled on first use
  e.respondWith(
    caches.match(req).then((hit) => hit || fetch(req).then((r) => {
      if (r.ok) {
        const copy = r.clone();
        caches.open(CACHE).then((c) => c.put(req, copy));
      }
      return r;
    })),
  );
});
