/**
 * The collector's API as the console uses it: who am I, sign in, sign out. The session cookie is
 * HttpOnly and set by the collector; the CSRF token of the login is kept in sessionStorage (it is
 * needed on every later write of this session, and survives a reload but not the tab).
 */

export type Role = 'viewer' | 'operator' | 'admin';

export interface Principal {
  name: string;
  role: Role;
  via: 'token' | 'session' | 'anonymous' | 'metrics-token';
}

/** What a call may end in besides success, each shown as its own state. */
export type Failure =
  | { kind: 'unauthenticated' }
  | { kind: 'forbidden'; message: string }
  | { kind: 'unreachable' }
  | { kind: 'error'; status: number; message: string };

export class ApiFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.kind === 'error' || failure.kind === 'forbidden' ? failure.message : failure.kind);
  }
}

/** What a failed call ended in: the kind an `ApiFailure` carries, else an error with its message. */
export function failureOf(error: unknown): Failure {
  if (error instanceof ApiFailure) return error.failure;
  return { kind: 'error', status: 0, message: error instanceof Error ? error.message : String(error) };
}

const CSRF_KEY = 'jjj.console.csrf';

export function csrfToken(): string | undefined {
  return sessionStorage.getItem(CSRF_KEY) ?? undefined;
}

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('accept', 'application/json');
  const unsafe = init.method !== undefined && init.method !== 'GET';
  const csrf = csrfToken();
  if (unsafe && csrf !== undefined) headers.set('x-csrf-token', csrf);
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers, credentials: 'same-origin' });
  } catch {
    throw new ApiFailure({ kind: 'unreachable' });
  }
  if (response.ok) return response;
  const message = await errorText(response);
  if (response.status === 401) throw new ApiFailure({ kind: 'unauthenticated' });
  if (response.status === 403) throw new ApiFailure({ kind: 'forbidden', message });
  // A reverse proxy in front of a stopped collector answers 502/504.
  if (response.status === 502 || response.status === 504) throw new ApiFailure({ kind: 'unreachable' });
  throw new ApiFailure({ kind: 'error', status: response.status, message });
}

async function errorText(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: unknown };
    if (typeof body.error === 'string') return body.error;
  } catch {
    // not JSON: fall through to the status line
  }
  return `HTTP ${response.status}`;
}

/** A GET of the API as JSON; `params` without undefined entries become the query string. */
export async function getJson<T>(
  path: string,
  params: Record<string, string | number | undefined> = {},
  init: RequestInit = {},
): Promise<T> {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value));
  const query = search.toString();
  return (await (await call(query === '' ? path : `${path}?${query}`, init)).json()) as T;
}

/** A write of the API (POST, PATCH, DELETE) with a JSON body and the session's CSRF token. */
export async function sendJson<T>(
  path: string,
  method: 'POST' | 'PATCH' | 'DELETE',
  body: unknown,
): Promise<T> {
  const response = await call(path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await response.json()) as T;
}

/** The signed-in (or anonymous) principal, or `undefined` when a sign-in is needed. */
export async function whoAmI(): Promise<Principal | undefined> {
  try {
    return (await (await call('/api/v1/me')).json()) as Principal;
  } catch (error) {
    if (error instanceof ApiFailure && error.failure.kind === 'unauthenticated') return undefined;
    throw error;
  }
}

export type SignInResult =
  | { ok: true; principal: Principal }
  | { ok: false; reason: 'wrong' | 'locked' | 'unreachable' | 'error'; message?: string };

export async function signIn(name: string, password: string): Promise<SignInResult> {
  let response: Response;
  try {
    response = await fetch('/api/v1/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ name, password }),
      credentials: 'same-origin',
    });
  } catch {
    return { ok: false, reason: 'unreachable' };
  }
  if (response.status === 401) return { ok: false, reason: 'wrong' };
  if (response.status === 429) return { ok: false, reason: 'locked' };
  if (!response.ok) return { ok: false, reason: 'error', message: await errorText(response) };
  const body = (await response.json()) as { user: string; role: Role; csrfToken: string };
  sessionStorage.setItem(CSRF_KEY, body.csrfToken);
  return { ok: true, principal: { name: body.user, role: body.role, via: 'session' } };
}

export async function signOut(): Promise<void> {
  try {
    await call('/api/v1/logout', { method: 'POST' });
  } finally {
    sessionStorage.removeItem(CSRF_KEY);
  }
}
