/**
 * Users and roles on the collector's API, against a real collector (real Mosquitto, SQLite file,
 * HTTP over loopback): each attack of issue 11 on the API is refused with its reason, and good
 * traffic keeps flowing. The first admin and their token come from the CLI, as an operator would do it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD_ENV } from '../../cloud/auth/account-cli.js';
import { runCli } from '../../cloud/cli.js';
import { type RunningCollector, startCollector } from '../../cloud/collector.js';
import { loadCollectorConfig } from '../../cloud/config.js';
import { tempDir } from '../gateway/delivery-fixtures.js';
import { capturedIo } from '../helpers/captured-io.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';

const METRICS_TOKEN = 'scrape-me-0123456789abcdef';
const ADMIN_PASSWORD = 'correct horse battery staple';
const OPERATOR_PASSWORD = 'operator-passw0rd-long';

describe('API access: users, roles, tokens and sessions', () => {
  const dir = tempDir('jjj-api-access-');
  const configFile = join(dir.path, 'collector.yaml');
  let broker: Mosquitto;
  let collector: RunningCollector;
  let adminToken = '';

  const call = async (
    path: string,
    options: { method?: string; token?: string; cookie?: string; csrf?: string; body?: unknown } = {},
  ) => {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.cookie) headers.cookie = options.cookie;
    if (options.csrf) headers['x-csrf-token'] = options.csrf;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${collector.httpUrl}${path}`, {
      method: options.method ?? 'GET',
      headers,
      ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
  const tokenFor = async (user: string, role?: string) =>
    (
      await call('/api/v1/tokens', {
        method: 'POST',
        token: adminToken,
        body: { user, ...(role && { role }) },
      })
    ).body as { id: string; token: string; role: string };

  beforeAll(async () => {
    broker = await startMosquitto();
    writeFileSync(
      configFile,
      [
        `mqtt: { url: "${broker.url}" }`,
        'store: { path: collector.db }',
        'http: { port: 0 }',
        `auth: { metricsToken: ${METRICS_TOKEN}, maxLoginFailures: 3, loginLockoutMs: 60000 }`,
        'commands: { signingKeyFile: keys/command-signing-key.pem }',
        '',
      ].join('\n'),
    );
    expect(await runCli(['keygen', '--out', join(dir.path, 'keys')], capturedIo().io)).toBe(0);
    const add = capturedIo({ env: { [PASSWORD_ENV]: ADMIN_PASSWORD } });
    expect(await runCli(['users', 'add', 'root', '--role', 'admin', '--config', configFile], add.io)).toBe(0);
    const create = capturedIo();
    expect(
      await runCli(['tokens', 'create', '--user', 'root', '--label', 'setup', '-c', configFile], create.io),
    ).toBe(0);
    adminToken = create.out.stdout.trim();
    expect(adminToken).toMatch(/^jjj_[A-Za-z0-9_-]{43}$/);
    collector = await startCollector(loadCollectorConfig(configFile), { logger: pino({ level: 'silent' }) });
    for (const [name, role, password] of [
      ['vera', 'viewer', 'viewer-passw0rd-long'],
      ['otto', 'operator', OPERATOR_PASSWORD],
    ]) {
      const created = await call('/api/v1/users', {
        method: 'POST',
        token: adminToken,
        body: { name, role, password },
      });
      expect(created.status).toBe(201);
    }
  }, 30_000);

  afterAll(async () => {
    await collector?.close();
    await broker?.stop();
    dir.remove();
  });

  it('refuses anonymous requests with 401 everywhere but /api/v1/health', async () => {
    expect((await call('/api/v1/health')).status).toBe(200);
    for (const path of [
      '/api/v1/sites',
      '/api/v1/commands',
      '/api/v1/users',
      '/metrics',
      '/api/v1/no-such-route',
    ]) {
      const answer = await call(path);
      expect(answer.status, path).toBe(401);
      expect(answer.body.error, path).toMatch(/authentication required/);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    const post = await call('/api/v1/commands', { method: 'POST', body: { site: 'x', writes: [] } });
    expect(post.status).toBe(401);
  });

  it('gives each role what it may do and no more (viewer reads, operator commands, admin manages)', async () => {
    const viewer = (await tokenFor('vera')).token;
    const operator = (await tokenFor('otto')).token;
    expect((await call('/api/v1/sites', { token: viewer })).status).toBe(200);
    const command = { site: 'he-nowhere', writes: [{ point: 'he-nowhere/l/e/p', value: 1 }] };
    const refused = await call('/api/v1/commands', { method: 'POST', token: viewer, body: command });
    expect(refused).toMatchObject({
      status: 403,
      body: { error: 'needs the operator role; vera is viewer' },
    });
    // The operator passes the role check and reaches the route (which does not know the site).
    const allowed = await call('/api/v1/commands', { method: 'POST', token: operator, body: command });
    expect(allowed).toMatchObject({ status: 404, body: { error: 'unknown site "he-nowhere"' } });
    const promote = {
      method: 'POST',
      token: operator,
      body: { name: 'mallory', role: 'admin', password: 'x'.repeat(20) },
    };
    expect((await call('/api/v1/users', promote)).status).toBe(403);
    // A token never holds more than its user: a viewer cannot be given an operator token.
    const upgraded = await call('/api/v1/tokens', {
      method: 'POST',
      token: adminToken,
      body: { user: 'vera', role: 'operator' },
    });
    expect(upgraded).toMatchObject({
      status: 400,
      body: { error: 'user "vera" is viewer: a token cannot be operator' },
    });
  });

  it('refuses a revoked token and keeps serving a live one', async () => {
    const first = await tokenFor('vera');
    const second = await tokenFor('vera');
    expect((await call('/api/v1/sites', { token: first.token })).status).toBe(200);
    expect((await call(`/api/v1/tokens/${first.id}`, { method: 'DELETE', token: adminToken })).status).toBe(
      204,
    );
    const revoked = await call('/api/v1/sites', { token: first.token });
    expect(revoked).toMatchObject({ status: 401, body: { error: 'invalid, expired or revoked token' } });
    expect((await call('/api/v1/sites', { token: second.token })).status).toBe(200);
    expect((await call('/api/v1/sites', { token: `${second.token}x` })).status).toBe(401);
  });

  it('a cookie session needs the CSRF token of its login on every POST, and ends at logout', async () => {
    const login = await call('/api/v1/login', {
      method: 'POST',
      body: { name: 'otto', password: OPERATOR_PASSWORD },
    });
    expect(login.status).toBe(200);
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(
      /^jjj_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    );
    const cookie = setCookie.split(';')[0] as string;
    const { csrfToken } = login.body as { csrfToken: string };
    expect((await call('/api/v1/me', { cookie })).body).toEqual({
      name: 'otto',
      role: 'operator',
      via: 'session',
    });

    const command = { site: 'he-nowhere', writes: [{ point: 'he-nowhere/l/e/p', value: 1 }] };
    const forged = await call('/api/v1/commands', { method: 'POST', cookie, body: command });
    expect(forged.status).toBe(403);
    expect(forged.body.error).toMatch(/x-csrf-token header/);
    const wrong = await call('/api/v1/commands', {
      method: 'POST',
      cookie,
      csrf: `${csrfToken}x`,
      body: command,
    });
    expect(wrong.status).toBe(403);
    const genuine = await call('/api/v1/commands', {
      method: 'POST',
      cookie,
      csrf: csrfToken,
      body: command,
    });
    expect(genuine.status).toBe(404);
    // A cross-site page's request is refused by its Origin before anything else.
    const crossSite = await fetch(`${collector.httpUrl}/api/v1/logout`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrfToken, origin: 'https://evil.example' },
    });
    expect(crossSite.status).toBe(403);

    expect((await call('/api/v1/logout', { method: 'POST', cookie, csrf: csrfToken })).status).toBe(204);
    expect((await call('/api/v1/sites', { cookie })).status).toBe(401);
  });

  it('refuses a wrong password, then locks the user out for a while, even with the right one', async () => {
    const attempt = (password: string) =>
      call('/api/v1/login', { method: 'POST', body: { name: 'vera', password } });
    for (let i = 0; i < 3; i++) {
      expect(await attempt(`guess-${i}-guess-guess`)).toMatchObject({
        status: 401,
        body: { error: 'wrong user name or password' },
      });
    }
    const locked = await attempt('viewer-passw0rd-long');
    expect(locked.status).toBe(429);
    expect(locked.body.error).toMatch(/too many failed logins: try again in (59|60) s/);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(50);
    // An unknown name answers like a wrong password, so names cannot be probed.
    const unknown = await call('/api/v1/login', {
      method: 'POST',
      body: { name: 'nobody', password: 'whatever-long' },
    });
    expect(unknown).toMatchObject({ status: 401, body: { error: 'wrong user name or password' } });
    // Other users are not locked out by vera's lockout.
    const other = await call('/api/v1/login', {
      method: 'POST',
      body: { name: 'root', password: ADMIN_PASSWORD },
    });
    expect(other.status).toBe(200);
  });

  it('refuses a Host header it does not serve (DNS rebinding) and serves its own', async () => {
    const statusWithHost = (host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const url = new URL(collector.httpUrl);
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: '/api/v1/sites',
            headers: { host, authorization: `Bearer ${adminToken}` },
          },
          (response) => {
            let body = '';
            response.on('data', (chunk) => (body += chunk));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    const port = new URL(collector.httpUrl).port;
    const evil = await statusWithHost(`evil.example:${port}`);
    expect(evil.status).toBe(421);
    expect(JSON.parse(evil.body).error).toMatch(/^host "evil.example:\d+" is not served here/);
    expect((await statusWithHost(`localhost:${port}`)).status).toBe(200);
    expect((await statusWithHost(`127.0.0.1:${port}`)).status).toBe(200);
  });

  it('serves /metrics to its own token, which opens nothing else', async () => {
    const scrape = await fetch(`${collector.httpUrl}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toMatch(/jjj_collector_/);
    expect((await call('/metrics', { token: 'scrape-me-wrong-0123456789' })).status).toBe(401);
    expect((await call('/api/v1/sites', { token: METRICS_TOKEN })).status).toBe(401);
  });

  it('stores passwords as scrypt hashes with their salt and cost, tokens as SHA-256, never in clear', async () => {
    await collector.close();
    const db = new Database(join(dir.path, 'collector.db'), { readonly: true });
    const users = db.prepare('SELECT name, password_hash FROM users ORDER BY name').all() as {
      name: string;
      password_hash: string;
    }[];
    db.close();
    expect(users.map((u) => u.name)).toEqual(['otto', 'root', 'vera']);
    for (const user of users)
      expect(user.password_hash).toMatch(/^scrypt\$65536\$8\$2\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(new Set(users.map((u) => u.password_hash.split('$')[4])).size).toBe(3);
    const files = ['collector.db', 'collector.db-wal'].map((file) => {
      try {
        return readFileSync(join(dir.path, file)).toString('latin1');
      } catch {
        return '';
      }
    });
    for (const secret of [ADMIN_PASSWORD, OPERATOR_PASSWORD, 'viewer-passw0rd-long', adminToken]) {
      for (const content of files) expect(content.includes(secret)).toBe(false);
    }
  });
});
