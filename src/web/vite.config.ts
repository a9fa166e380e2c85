import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The browser UI, built into dist/ui by `npm run build` (after the server, whose build empties dist/),
// served by the server at /ui. No CDN: every asset is bundled here.
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/ui/',
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('../../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // Nothing inline: the UI's CSP allows scripts, styles and images from the server only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
