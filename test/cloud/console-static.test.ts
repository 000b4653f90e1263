/**
 * The web console's files served by a real collector at `/` (real Mosquitto, HTTP over loopback):
 * content types, caching, the Content-Security-Policy, the single-page fallback, public access to
 * the files while the API keeps its roles, path traversal in every spelling refused, and a clear
 * 404 naming `npm run build` when the console is not built.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCollector, startCollector } from '../../cloud/collector.js';
import { buildCollectorConfig } from '../../cloud/config.js';
import { tempDir } from '../gateway/delivery-fixtures.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';

const SECRET = 'secret-outside-the-console-folder';
const INDEX =
  '<!doctype html><title>jjj console</title><script type="module" src="/assets/index-B3x_9aQk.js"></script>';

/** A GET with the path sent exactly as written (fetch would normalise `..` away). */
function rawGet(
  base: string,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET' }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the web console at /', () => {
  const dir = tempDir('jjj-console-static-');
  const consoleDir = join(dir.path, 'console');
  let broker: Mosquitto;
  let collector: RunningCollector;
  let unbuilt: RunningCollector;

  beforeAll(async () => {
    mkdirSync(join(consoleDir, 'assets'), { recursive: true });
    writeFileSync(join(consoleDir, 'index.html'), INDEX);
    writeFileSync(join(consoleDir, 'assets', 'index-B3x_9aQk.js'), 'console.log("console")');
    writeFileSync(join(consoleDir, 'assets', 'index-Dq1_x2Zw.css'), 'body{margin:0}');
    writeFileSync(join(consoleDir, 'assets', 'site-map.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(consoleDir, 'favicon.ico'), Buffer.from([0, 0, 1, 0]));
    writeFileSync(join(consoleDir, '.env'), SECRET);
    writeFileSync(join(dir.path, 'secret.txt'), SECRET);
    symlinkSync(join(dir.path, 'secret.txt'), join(consoleDir, 'assets', 'linked.txt'));
    broker = await startMosquitto();
    const start = (folder: string, db: string) =>
      startCollector(
        buildCollectorConfig({
          mqtt: { url: broker.url },
          store: { path: join(dir.path, db) },
          http: { port: 0 },
        }),
        { logger: pino({ level: 'silent' }), consoleDir: folder },
      );
    collector = await start(consoleDir, 'collector.db');
    unbuilt = await start(join(dir.path, 'never-built'), 'unbuilt.db');
  }, 30_000);

  afterAll(async () => {
    await collector?.close();
    await unbuilt?.close();
    await broker?.stop();
    dir.remove();
  });

  it('serves index.html at / to anyone, uncached, with a self-only CSP and nosniff', async () => {
    const response = await fetch(`${collector.httpUrl}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe|https?:|\*/);
    expect(await response.text()).toBe(INDEX);
  });

  it('serves assets with their content types; hashed ones cached for a year', async () => {
    const cases = [
      ['/assets/index-B3x_9aQk.js', 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable'],
      ['/assets/index-Dq1_x2Zw.css', 'text/css; charset=utf-8', 'public, max-age=31536000, immutable'],
      ['/assets/site-map.svg', 'image/svg+xml', 'no-cache'],
      ['/favicon.ico', 'image/x-icon', 'no-cache'],
      ['/index.html', 'text/html; charset=utf-8', 'no-cache'],
    ];
    for (const [path, type, cache] of cases) {
      const response = await fetch(`${collector.httpUrl}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toBe(type);
      expect(response.headers.get('cache-control'), path).toBe(cache);
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      await response.arrayBuffer();
    }
  });

  it("answers the console's own routes with index.html, a missing file with 404", async () => {
    for (const path of ['/sites/bj-etown-cnc', '/overview?lang=zh', '/compare/']) {
      const response = await fetch(`${collector.httpUrl}${path}`);
      expect(response.status, path).toBe(200);
      expect(await response.text(), path).toBe(INDEX);
    }
    const missing = await fetch(`${collector.httpUrl}/assets/gone-12345678.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('leaves the API as it was: its roles first, also on unknown API paths', async () => {
    expect((await fetch(`${collector.httpUrl}/api/v1/sites`)).status).toBe(401);
    expect((await fetch(`${collector.httpUrl}/api/v1/health`)).status).toBe(200);
    // An unknown API path is not the console's: a role first, as before, never index.html.
    for (const path of ['/api/v1/no-such-route', '/api', '/api/v1/login']) {
      const unknown = await fetch(`${collector.httpUrl}${path}`);
      expect(unknown.status, path).toBe(401);
      expect(await unknown.json(), path).toMatchObject({
        error: expect.stringMatching(/authentication required/),
      });
    }
  });

  it('refuses every path out of the folder, to hidden files and through links', async () => {
    for (const path of [
      '/../secret.txt',
      '/../package.json',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/%2e%2e/package.json',
      '/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/..%5csecret.txt',
      '/assets%5c..%5c..%5csecret.txt',
      '/%252e%252e/secret.txt',
      '/.env',
      '/%2eenv',
      '/assets/linked.txt',
      '/assets/%00index-B3x_9aQk.js',
      '/%ff%fe',
    ]) {
      const response = await rawGet(collector.httpUrl, path);
      expect(response.body, path).not.toContain(SECRET);
      expect(response.body, path).not.toContain('"name": "jjj-iiot"');
      expect([400, 404], path).toContain(response.status);
    }
  });

  it('answers / with 404 naming `npm run build` when the console is not built', async () => {
    for (const path of ['/', '/sites/x']) {
      const response = await fetch(`${unbuilt.httpUrl}${path}`);
      expect(response.status).toBe(404);
      expect(await response.text()).toMatch(/not built.*npm run build/s);
    }
    expect((await fetch(`${unbuilt.httpUrl}/api/v1/health`)).status).toBe(200);
  });
});
