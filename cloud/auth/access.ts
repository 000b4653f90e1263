/**
 * Who may call the API: a Host header check (against DNS rebinding), then a principal from an API
 * token (`Authorization: Bearer …`), a session cookie (plus its CSRF token in `X-CSRF-Token` on
 * every unsafe method), the /metrics token, or the configured anonymous role; then the route's
 * role. A route says what it needs in its `config.access` (default: viewer).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { CollectorConfig } from '../config.js';
import { type Accounts, type Role, roleAllows } from '../store/account-table.js';
import { LoginLimiter } from './login-limiter.js';
import { newSecret, sameSecret, secretHash, unknownUserHash, verifyPassword } from './secrets.js';

/** `public`: anyone; `metrics`: the metrics token or a viewer; a role: at least that role. */
export type Access = 'public' | 'metrics' | Role;

export interface Principal {
  name: string;
  role: Role;
  via: 'token' | 'session' | 'anonymous' | 'metrics-token';
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

export const SESSION_COOKIE = 'jjj_session';
export const CSRF_HEADER = 'x-csrf-token';
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const LoginBody = z.strictObject({ name: z.string().min(1).max(64), password: z.string().min(1).max(1024) });

export interface AccessOptions {
  accounts: Accounts;
  auth: CollectorConfig['auth'];
  /** The Host header values served; known once the server listens (its port may be picked then). */
  allowedHosts: () => ReadonlySet<string>;
  logger: Logger;
  now?: () => number;
}

/** The hosts served by default: the listen address, localhost and 127.0.0.1, with the port. */
export function defaultAllowedHosts(listenHost: string, port: number): Set<string> {
  const host = listenHost.includes(':') ? `[${listenHost}]` : listenHost;
  return new Set([host, 'localhost', '127.0.0.1', '[::1]'].map((name) => `${name}:${port}`.toLowerCase()));
}

export function registerAccess(app: FastifyInstance, options: AccessOptions): void {
  const { accounts, auth, logger } = options;
  const now = options.now ?? Date.now;
  const limiter = new LoginLimiter(auth.maxLoginFailures, auth.loginLockoutMs);
  const refuse = (reply: FastifyReply, status: number, error: string) => reply.code(status).send({ error });

  app.decorateRequest('principal', undefined);

  app.addHook('onRequest', async (request, reply) => {
    const host = (request.headers.host ?? '').toLowerCase();
    if (!options.allowedHosts().has(host))
      return refuse(reply, 421, `host "${host}" is not served here (auth.allowedHosts)`);
    const origin = request.headers.origin;
    if (
      UNSAFE_METHODS.has(request.method) &&
      origin !== undefined &&
      !options.allowedHosts().has(hostOf(origin))
    )
      return refuse(reply, 403, `cross-origin request from ${origin} refused`);

    const access = request.routeOptions.config.access ?? 'viewer';
    if (access === 'public') return;
    const identified = identify(request, access);
    if ('status' in identified) {
      if (identified.status === 401) void reply.header('www-authenticate', 'Bearer realm="jjj-collector"');
      return refuse(reply, identified.status, identified.error);
    }
    const needed: Role = access === 'metrics' ? 'viewer' : access;
    if (!roleAllows(identified.role, needed))
      return refuse(reply, 403, `needs the ${needed} role; ${identified.name} is ${identified.role}`);
    request.principal = identified;
  });

  function identify(
    request: FastifyRequest,
    access: Access,
  ): Principal | { status: 401 | 403; error: string } {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const bearer = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization)?.[1];
      if (!bearer) return { status: 401, error: 'expected "Authorization: Bearer <token>"' };
      if (access === 'metrics' && auth.metricsToken !== undefined && sameSecret(bearer, auth.metricsToken))
        return { name: 'metrics', role: 'viewer', via: 'metrics-token' };
      const token = accounts.tokenByHash(secretHash(bearer), now());
      if (!token) return { status: 401, error: 'invalid, expired or revoked token' };
      return { name: token.user, role: token.role, via: 'token' };
    }
    const sessionId = cookieOf(request.headers.cookie, SESSION_COOKIE);
    if (sessionId !== undefined) {
      const session = accounts.session(secretHash(sessionId), now());
      if (!session) return { status: 401, error: 'session expired or logged out: log in again' };
      const csrf = request.headers[CSRF_HEADER];
      if (
        UNSAFE_METHODS.has(request.method) &&
        (typeof csrf !== 'string' || !sameSecret(csrf, session.csrfToken))
      )
        return {
          status: 403,
          error: `a session request that changes anything needs the ${CSRF_HEADER} header of its login`,
        };
      return { name: session.user, role: session.role, via: 'session' };
    }
    if (auth.anonymous !== 'none') return { name: 'anonymous', role: auth.anonymous, via: 'anonymous' };
    return {
      status: 401,
      error: 'authentication required: an API token (Authorization: Bearer) or a session login',
    };
  }

  app.post('/api/v1/login', { config: { access: 'public' } }, async (request, reply) => {
    const body = LoginBody.safeParse(request.body);
    if (!body.success) return refuse(reply, 400, 'expected { name, password }');
    const { name, password } = body.data;
    const waitMs = limiter.retryAfterMs(name, request.ip, now());
    if (waitMs > 0) {
      logger.warn({ user: name, ip: request.ip }, 'login refused: locked out after repeated failures');
      void reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
      return refuse(reply, 429, `too many failed logins: try again in ${Math.ceil(waitMs / 1000)} s`);
    }
    const user = accounts.user(name);
    // An unknown name costs the same hash as a known one, so timing does not tell which names exist.
    const matches = await verifyPassword(password, user?.passwordHash ?? (await unknownUserHash()));
    if (!user || !matches) {
      limiter.failed(name, request.ip, now());
      logger.warn({ user: name, ip: request.ip }, 'login failed');
      return refuse(reply, 401, 'wrong user name or password');
    }
    limiter.succeeded(name, request.ip);
    const sessionId = newSecret();
    const csrfToken = newSecret();
    const createdAt = now();
    const expiresAt = createdAt + auth.sessionTtlMs;
    accounts.addSession({ idHash: secretHash(sessionId), user: user.name, csrfToken, createdAt, expiresAt });
    logger.info({ user: user.name, ip: request.ip }, 'logged in');
    const cookie = [
      `${SESSION_COOKIE}=${sessionId}`,
      'Path=/',
      'HttpOnly',
      'SameSite=Strict',
      `Max-Age=${Math.floor(auth.sessionTtlMs / 1000)}`,
      ...(auth.secureCookie ? ['Secure'] : []),
    ];
    void reply.header('set-cookie', cookie.join('; '));
    return { user: user.name, role: user.role, csrfToken, expiresAt };
  });

  app.post('/api/v1/logout', { config: { access: 'viewer' } }, async (request, reply) => {
    const sessionId = cookieOf(request.headers.cookie, SESSION_COOKIE);
    if (sessionId !== undefined) accounts.removeSession(secretHash(sessionId));
    logger.info({ user: request.principal?.name }, 'logged out');
    void reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    return reply.code(204).send();
  });

  app.get('/api/v1/me', async (request) => request.principal);
}

function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/** `host:port` of an Origin URL, as a Host header would say it; '' when unreadable. */
function hostOf(origin: string): string {
  try {
    const url = new URL(origin);
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    return `${url.hostname}:${port}`.toLowerCase();
  } catch {
    return '';
  }
}
