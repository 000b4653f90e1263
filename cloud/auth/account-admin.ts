/** Creating users and tokens, shared by the admin routes and the `jjj-collector users|tokens` CLI. */
import { z } from 'zod';
import { type Accounts, type Role, roleAllows, roles } from '../store/account-table.js';
import { hashPassword, newToken, passwordProblem, secretHash } from './secrets.js';

export const UserName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'expected letters, digits, ".", "_", "@" or "-" (at most 64)');
export const RoleName = z.enum(roles);

const DAY_MS = 24 * 60 * 60 * 1000;

export type AdminResult<T> = { ok: true; value: T } | { ok: false; status: 400 | 404 | 409; problem: string };

export async function createUser(
  accounts: Accounts,
  user: { name: string; role: Role; password: string },
  now: number,
): Promise<AdminResult<{ name: string; role: Role; createdAt: number }>> {
  const problem = passwordProblem(user.password);
  if (problem) return { ok: false, status: 400, problem };
  const passwordHash = await hashPassword(user.password);
  if (!accounts.addUser({ name: user.name, role: user.role, passwordHash, createdAt: now }))
    return { ok: false, status: 409, problem: `user "${user.name}" exists already` };
  return { ok: true, value: { name: user.name, role: user.role, createdAt: now } };
}

export interface CreatedToken {
  id: string;
  /** Shown this once: only its hash is stored. */
  token: string;
  user: string;
  role: Role;
  label: string | null;
  createdAt: number;
  expiresAt: number | null;
}

/** A token for `user` with at most the user's role (the user's by default). */
export function createToken(
  accounts: Accounts,
  request: { user: string; role?: Role; label?: string; expiresInDays?: number },
  now: number,
): AdminResult<CreatedToken> {
  const owner = accounts.user(request.user);
  if (!owner) return { ok: false, status: 404, problem: `unknown user "${request.user}"` };
  const role = request.role ?? owner.role;
  if (!roleAllows(owner.role, role))
    return {
      ok: false,
      status: 400,
      problem: `user "${owner.name}" is ${owner.role}: a token cannot be ${role}`,
    };
  const { id, token } = newToken();
  const expiresAt = request.expiresInDays === undefined ? null : now + request.expiresInDays * DAY_MS;
  const created = { id, user: owner.name, role, label: request.label ?? null, createdAt: now, expiresAt };
  accounts.addToken({ ...created, tokenHash: secretHash(token) });
  return { ok: true, value: { ...created, token } };
}

/** True when removing or lowering `name` would leave no admin to manage users. */
export function isLastAdmin(accounts: Accounts, name: string): boolean {
  const admins = accounts.users().filter((user) => user.role === 'admin');
  return admins.length === 1 && admins[0]?.name === name;
}
