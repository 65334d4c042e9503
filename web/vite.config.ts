import { defineConfig } from 'vitest/config';

// Everything is bundled (the server's CSP is default-src 'self': no CDN, no
// inline scripts). The output directory is given on the command line by
// web/meson.build (the build tree), or defaults to web/dist for `npm run build`.
export default defineConfig({
  base: '/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2020',
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 600,
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
