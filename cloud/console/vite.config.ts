/**
 * Builds the console into dist/console/ (hashed assets, no source maps, nothing loaded from
 * outside): `npm run build` runs it after tsc. Prints the bundle's compressed size at the end.
 */
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const outDir = fileURLToPath(new URL('../../dist/console', import.meta.url));

/** One line with the whole bundle's gzip size: what a slow plant link has to load. */
function gzipReport(): Plugin {
  return {
    name: 'jjj-gzip-report',
    apply: 'build',
    generateBundle(_options, bundle) {
      let raw = 0;
      let gzip = 0;
      for (const file of Object.values(bundle)) {
        const content = file.type === 'chunk' ? file.code : file.source;
        const bytes = typeof content === 'string' ? Buffer.from(content) : Buffer.from(content);
        raw += bytes.length;
        gzip += gzipSync(bytes, { level: 9 }).length;
      }
      const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
      console.log(`console bundle: ${kb(gzip)} gzip (${kb(raw)} raw, ${Object.keys(bundle).length} files)`);
    },
  };
}

export default defineConfig({
  root,
  base: './',
  logLevel: 'warn',
  plugins: [gzipReport()],
  define: {
    __VUE_OPTIONS_API__: 'false',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'false',
    __VUE_I18N_LEGACY_API__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
  },
  build: {
    outDir,
    emptyOutDir: true,
    sourcemap: false,
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  server: {
    // `npx vite --config cloud/console/vite.config.ts` with a collector on 8080: the API is proxied.
    proxy: { '/api': { target: 'http://127.0.0.1:8080', changeOrigin: true } },
  },
});
