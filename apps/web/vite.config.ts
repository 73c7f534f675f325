import { defineConfig } from 'vite';

/**
 * Node built-ins appear only behind dynamic imports on Node-only paths of our packages (model
 * directories, file: URLs): leave them unbundled; the browser never loads those chunks.
 */
const NODE_BUILTINS = /^node:/;

/**
 * Cross-origin isolation, so the wasm backend may share its memory with Web Workers (threads):
 * COEP `credentialless` keeps cross-origin loads working (checkpoints come by CORS fetch).
 * Hosts that cannot send these headers get one thread.
 */
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'credentialless' };

export default defineConfig({
  // Relative asset URLs: dist/ works from any path (a subfolder of a static host, too).
  base: './',
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    // Model files stay files (not data: URLs), so the weights and their config/tokenizer can be swapped and cached.
    assetsInlineLimit: (file) => (/\.(json|safetensors)$/.test(file) ? false : undefined),
    // TensorFlow.js is a lazy chunk of the worker; its size is expected.
    chunkSizeWarningLimit: 2048,
    rolldownOptions: { external: NODE_BUILTINS },
  },
  // ES workers can code-split, so TensorFlow.js and each backend load only when chosen.
  worker: { format: 'es', rolldownOptions: { external: NODE_BUILTINS } },
  server: { host: '127.0.0.1', headers: ISOLATION },
  preview: { host: '127.0.0.1', headers: ISOLATION },
});
