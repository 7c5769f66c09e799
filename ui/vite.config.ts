/**
 * Builds the page (ui/) into static files in ui/dist that `synack ui` serves (or any static host).
 * Relative base so the files work from any path; workers as ES modules; everything bundled (no CDN).
 */
import { defineConfig, type Plugin } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * src/link/scenarios.ts loads node:http lazily for its Node-only `http` scenario (which the page never
 * offers). Its node: imports become a module that throws when loaded, instead of Vite's warning stub.
 */
function nodeBuiltinsUnavailable(): Plugin {
  return {
    name: 'synack-node-builtins-unavailable',
    enforce: 'pre',
    resolveId(id) { return id.startsWith('node:') ? `\0unavailable:${id}` : null; },
    load(id) {
      if (!id.startsWith('\0unavailable:')) return null;
      // Named exports keep the importers' bindings valid; the throw runs if the module is ever loaded.
      return `throw new Error(${JSON.stringify(`${id.slice('\0unavailable:'.length)} is not available in the browser`)});\n`
        + 'export const Duplex = undefined, EventEmitter = undefined; export default undefined;';
    },
  };
}

export default defineConfig({
  plugins: [nodeBuiltinsUnavailable()],
  root,
  base: './',
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1500,
  },
  worker: { format: 'es', plugins: () => [nodeBuiltinsUnavailable()] },
  server: { fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } },
  logLevel: 'warn',
});
