/**
 * API users, API tokens and browser sessions in the catalog. Only hashes are kept: a password's
 * scrypt hash, a token's or session id's SHA-256 (they are random 256-bit secrets, so a fast hash
 * is enough); the secrets themselves are shown once and never stored.
 */
import type Database from 'better-sqlite3';

export const roles = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof roles)[number];

/** True when `held` grants at least what `needed` asks for. */
export function roleAllows(held: Role, needed: Role): boolean {
  return roles.indexOf(held) >= roles.indexOf(needed);
}

export interface StoredUser {
  name: string;
  role: Role;
  passwordHash: string;
  createdAt: number;
}

export interface TokenInfo {
  id: string;
  user: string;
  /** The token's own role: at most its user's, and lowered with it. */
  role: Role;
  label: string | null;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

export interface NewToken extends Omit<TokenInfo, 'revokedAt'> {
  tokenHash: string;
}

export interface NewSession {
  idHash: string;
  user: string;
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

export interface SessionInfo {
  user: string;
  role: Role;
  csrfToken: string;
  expiresAt: number;
}

/** What the API and the CLI need of the account tables; both stores have it through the catalog. */
export interface Accounts {
  /** False when the name is taken. */
  addUser(user: StoredUser): boolean;
  user(name: string): StoredUser | undefined;
  users(): Omit<StoredUser, 'passwordHash'>[];
  /** False for an unknown user. A lower role lowers the user's tokens too. */
  updateUser(name: string, change: { role?: Role; passwordHash?: string }): boolean;
  /** Removes the user with their tokens and sessions; false for an unknown user. */
  removeUser(name: string): boolean;
  addToken(token: NewToken): void;
  /** The live token with this hash (not revoked, not expired), with the lower of its and its user's role. */
  tokenByHash(tokenHash: string, now: number): TokenInfo | undefined;
  tokens(): TokenInfo[];
  /** False for an unknown or already revoked token. */
  revokeToken(id: string, now: number): boolean;
  addSession(session: NewSession): void;
  /** The live session with this id hash, with its user's current role. */
  session(idHash: string, now: number): SessionInfo | undefined;
  removeSession(idHash: string): void;
}

interface UserRow {
  name: string;
  role: Role;
  password_hash: string;
  created_at: number;
}

interface TokenRow {
  id: string;
  user: string;
  role: Role;
  user_role: Role;
  label: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

const TOKEN_COLUMNS = `t.id, t.user, t.role, u.role AS user_role, t.label, t.created_at, t.expires_at, t.revoked_at
  FROM api_tokens t JOIN users u ON u.name = t.user`;

export class AccountTable implements Accounts {
  private readonly statements;
  private readonly removeUserTx: Database.Transaction<(name: string) => boolean>;

  constructor(db: Database.Database) {
    this.statements = {
      insertUser: db.prepare(
        `INSERT INTO users (name, role, password_hash, created_at) VALUES (@name, @role, @passwordHash, @createdAt)
         ON CONFLICT (name) DO NOTHING`,
      ),
      user: db.prepare<[string], UserRow>('SELECT * FROM users WHERE name = ?'),
      users: db.prepare<[], UserRow>('SELECT * FROM users ORDER BY name'),
      updateUser: db.prepare(
        `UPDATE users SET role = coalesce(@role, role), password_hash = coalesce(@passwordHash, password_hash)
         WHERE name = @name`,
      ),
      deleteUser: db.prepare('DELETE FROM users WHERE name = ?'),
      deleteTokensOf: db.prepare('DELETE FROM api_tokens WHERE user = ?'),
      deleteSessionsOf: db.prepare('DELETE FROM sessions WHERE user = ?'),
      insertToken: db.prepare(
        `INSERT INTO api_tokens (id, token_hash, user, role, label, created_at, expires_at)
         VALUES (@id, @tokenHash, @user, @role, @label, @createdAt, @expiresAt)`,
      ),
      tokenByHash: db.prepare<[string, number], TokenRow>(
        `SELECT ${TOKEN_COLUMNS}
         WHERE t.token_hash = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)`,
      ),
      tokens: db.prepare<[], TokenRow>(`SELECT ${TOKEN_COLUMNS} ORDER BY t.created_at DESC`),
      revokeToken: db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      insertSession: db.prepare(
        `INSERT INTO sessions (id_hash, user, csrf_token, created_at, expires_at)
         VALUES (@idHash, @user, @csrfToken, @createdAt, @expiresAt)`,
      ),
      session: db.prepare<
        [string, number],
        { user: string; role: Role; csrf_token: string; expires_at: number }
      >(
        `SELECT s.user, u.role, s.csrf_token, s.expires_at FROM sessions s JOIN users u ON u.name = s.user
         WHERE s.id_hash = ? AND s.expires_at > ?`,
      ),
      deleteSession: db.prepare('DELETE FROM sessions WHERE id_hash = ?'),
      pruneSessions: db.prepare('DELETE FROM sessions WHERE expires_at <= ?'),
    };
    this.removeUserTx = db.transaction((name: string) => {
      this.statements.deleteTokensOf.run(name);
      this.statements.deleteSessionsOf.run(name);
      return this.statements.deleteUser.run(name).changes > 0;
    });
  }

  addUser(user: StoredUser): boolean {
    return this.statements.insertUser.run(user).changes > 0;
  }

  user(name: string): StoredUser | undefined {
    const row = this.statements.user.get(name);
    return row && userOf(row);
  }

  users(): Omit<StoredUser, 'passwordHash'>[] {
    return this.statements.users
      .all()
      .map(({ name, role, created_at }) => ({ name, role, createdAt: created_at }));
  }

  updateUser(name: string, change: { role?: Role; passwordHash?: string }): boolean {
    const { role = null, passwordHash = null } = change;
    return this.statements.updateUser.run({ name, role, passwordHash }).changes > 0;
  }

  removeUser(name: string): boolean {
    return this.removeUserTx.immediate(name);
  }

  addToken(token: NewToken): void {
    this.statements.insertToken.run(token);
  }

  tokenByHash(tokenHash: string, now: number): TokenInfo | undefined {
    const row = this.statements.tokenByHash.get(tokenHash, now);
    return row && tokenOf(row);
  }

  tokens(): TokenInfo[] {
    return this.statements.tokens.all().map(tokenOf);
  }

  revokeToken(id: string, now: number): boolean {
    return this.statements.revokeToken.run(now, id).changes > 0;
  }

  addSession(session: NewSession): void {
    // Expired sessions go when new ones come, so the table stays the size of the live ones.
    this.statements.pruneSessions.run(session.createdAt);
    this.statements.insertSession.run(session);
  }

  session(idHash: string, now: number): SessionInfo | undefined {
    const row = this.statements.session.get(idHash, now);
    return row && { user: row.user, role: row.role, csrfToken: row.csrf_token, expiresAt: row.expires_at };
  }

  removeSession(idHash: string): void {
    this.statements.deleteSession.run(idHash);
  }
}

function userOf(row: UserRow): StoredUser {
  return { name: row.name, role: row.role, passwordHash: row.password_hash, createdAt: row.created_at };
}

function tokenOf(row: TokenRow): TokenInfo {
  return {
    id: row.id,
    user: row.user,
    role: roleAllows(row.user_role, row.role) ? row.role : row.user_role,
    label: row.label,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}
