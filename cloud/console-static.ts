/**
 * Serves the built web console (issue 13) at `/`: the files the console build writes to
 * `dist/console/` at the repository root, with their content types, a long cache for hashed
 * assets and none for index.html, a self-only Content-Security-Policy and `nosniff`. Any other
 * path without a file extension answers index.html (the console routes in the browser); `/api/…`
 * stays the API's. The static files are public; everything they call is behind the API's roles.
 */
import { existsSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Self only: every script, style, font and connection from the collector itself. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Vite's hashed file names under `assets/` (`index-B3x_9aQk.js`): their content never changes. */
const HASHED = /[-.][A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;
const LONG_CACHE = 'public, max-age=31536000, immutable';

/**
 * The console folder of this installation: `dist/console/` beside the running collector's
 * `dist/cloud/` (built or installed), or the repository's `dist/console/` when run from source.
 */
export function defaultConsoleDir(): string {
  const built = fileURLToPath(new URL('../console/', import.meta.url));
  const fromSource = fileURLToPath(new URL('../dist/console/', import.meta.url));
  return existsSync(join(built, 'index.html')) || !existsSync(fromSource) ? built : fromSource;
}

/** Paths the console never answers (the API's own), however the router matched them. */
function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/') || path === '/metrics';
}

export function registerConsoleStatic(app: FastifyInstance, options: { dir: string }): void {
  const root = resolve(options.dir);
  let realRoot: string | undefined;

  const securityHeaders = (reply: FastifyReply) =>
    reply
      .header('content-security-policy', CONSOLE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer');

  /** The real path of `relative` under the console folder, or undefined (absent, a folder, outside). */
  const fileOf = async (relative: string): Promise<string | undefined> => {
    const candidate = resolve(root, relative);
    if (!candidate.startsWith(root + sep)) return undefined;
    try {
      realRoot ??= await realpath(root);
      const real = await realpath(candidate);
      if (!real.startsWith(realRoot + sep)) return undefined;
      return (await stat(real)).isFile() ? real : undefined;
    } catch {
      return undefined;
    }
  };

  const sendFile = async (reply: FastifyReply, file: string, cache: string) => {
    const body = await readFile(file);
    const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
    return securityHeaders(reply).header('cache-control', cache).type(type).send(body);
  };

  const sendIndex = async (reply: FastifyReply) => {
    const index = await fileOf('index.html');
    if (!index) {
      return securityHeaders(reply)
        .code(404)
        .type('text/plain; charset=utf-8')
        .send(
          `The web console is not built: ${join(root, 'index.html')} is missing. ` +
            'Run `npm run build` (it writes the console to dist/console/), then reload. The API is at /api/v1/.\n',
        );
    }
    return sendFile(reply, index, 'no-cache');
  };

  app.get('/', { config: { access: 'public' } }, (_request, reply) => sendIndex(reply));

  // Unknown API paths keep the API's rules: a role first (401/403), then fastify's own 404.
  for (const path of ['/api', '/api/*']) {
    app.get(path, (_request, reply) => reply.callNotFound());
  }

  app.get('/*', { config: { access: 'public' } }, async (request, reply) => {
    const rawPath = request.url.split('?')[0] ?? '/';
    if (isApiPath(rawPath)) return reply.callNotFound();
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      return securityHeaders(reply).code(400).send({ error: 'malformed path' });
    }
    const segments = path.split('/').slice(1);
    // No way out of the folder, no hidden files: `..`, `.x`, backslashes and NULs in any spelling.
    if (
      segments.some((segment) => segment.startsWith('.') || segment.includes('\\') || segment.includes('\0'))
    ) {
      return securityHeaders(reply).code(404).send({ error: 'not found' });
    }
    const relative = segments.join('/');
    if (relative === 'index.html') return sendIndex(reply);
    const file = relative === '' ? undefined : await fileOf(relative);
    if (file) {
      const hashed = relative.startsWith('assets/') && HASHED.test(relative);
      return sendFile(reply, file, hashed ? LONG_CACHE : 'no-cache');
    }
    // A missing file (`/assets/gone.js`) is a 404; a route of the console (`/sites/bj`) is the app.
    if (extname(segments.at(-1) ?? '') !== '') {
      return securityHeaders(reply)
        .code(404)
        .send({ error: `no file ${path}` });
    }
    return sendIndex(reply);
  });
}
