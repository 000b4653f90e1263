/**
 * Builds the console into dist/console/ (hashed assets, no source maps, nothing loaded from
 * outside): `npm run build` runs it after tsc. Prints the bundle's compressed size at the end.
 */
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const outDir = fileURLToPath(new URL('../../dist/console', import.meta.url));

/**
 * The bundle's gzip size, whole and for the first view (the page, the entry chunk, what it imports statically
 * and their CSS): the chart views' code (ECharts) is loaded when one is first opened.
 */
function gzipReport(): Plugin {
  return {
    name: 'jjj-gzip-report',
    apply: 'build',
    generateBundle(_options, bundle) {
      const gzipOf = new Map<string, { raw: number; gzip: number }>();
      for (const [name, file] of Object.entries(bundle)) {
        const content = file.type === 'chunk' ? file.code : file.source;
        const bytes = Buffer.from(content);
        gzipOf.set(name, { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });
      }
      const firstView = new Set<string>();
      const visit = (name: string) => {
        const file = bundle[name];
        if (!file || firstView.has(name)) return;
        firstView.add(name);
        if (file.type !== 'chunk') return;
        for (const imported of file.imports) visit(imported);
        for (const css of file.viteMetadata?.importedCss ?? []) visit(css);
      };
      visit('index.html');
      for (const [name, file] of Object.entries(bundle))
        if (file.type === 'chunk' && file.isEntry) visit(name);
      const sum = (names: Iterable<string>) =>
        [...names].reduce(
          (total, name) => {
            const size = gzipOf.get(name);
            return size ? { raw: total.raw + size.raw, gzip: total.gzip + size.gzip } : total;
          },
          { raw: 0, gzip: 0 },
        );
      const all = sum(gzipOf.keys());
      const first = sum(firstView);
      const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
      console.log(
        `console bundle: ${kb(all.gzip)} gzip (${kb(all.raw)} raw, ${gzipOf.size} files); ` +
          `first view ${kb(first.gzip)} gzip, charts loaded on demand ${kb(all.gzip - first.gzip)}`,
      );
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
    // ECharts is one lazily loaded chunk of ~600 kB raw (~190 kB gzip); the report above is the measure.
    chunkSizeWarningLimit: 1000,
  },
  server: {
    // `npx vite --config cloud/console/vite.config.ts` with a collector on 8080: the API is proxied.
    proxy: { '/api': { target: 'http://127.0.0.1:8080', changeOrigin: true } },
  },
});
