/**
 * `jjj-collector users …` and `jjj-collector tokens …`: manage API accounts on the store file
 * directly, so the first admin can be made before the API lets anyone in. A password never comes
 * as an argument (it would show in `ps` and in shell history): stdin or an environment variable.
 */
import type { CliIo } from '../../gateway/common/cli-io.js';
import { type Accounts, AccountTable } from '../store/account-table.js';
import { openSqliteDatabase } from '../store/sqlite-schema.js';
import { createToken, createUser, isLastAdmin, RoleName, UserName } from './account-admin.js';

export const PASSWORD_ENV = 'JJJ_COLLECTOR_PASSWORD';

/** A CLI's process as `runCli` sees it; `stdin` (default the process's) only for `--password-stdin`. */
export type AccountCliIo = CliIo & { stdin?: AsyncIterable<string | Buffer> };

interface AccountOptions {
  role?: string | undefined;
  user?: string | undefined;
  label?: string | undefined;
  'expires-days'?: string | undefined;
  'password-stdin'?: boolean | undefined;
}

export async function runAccountCommand(
  command: 'users' | 'tokens',
  words: string[],
  options: AccountOptions,
  file: string,
  io: AccountCliIo,
): Promise<number> {
  const db = openSqliteDatabase(file);
  try {
    const accounts = new AccountTable(db);
    return command === 'users'
      ? await users(accounts, words, options, io)
      : tokens(accounts, words, options, io);
  } finally {
    db.close();
  }
}

function fail(io: CliIo, problem: string): number {
  io.stderr.write(`${problem}\n`);
  return 2;
}

async function users(
  accounts: Accounts,
  words: string[],
  options: AccountOptions,
  io: AccountCliIo,
): Promise<number> {
  const [action, name, ...extra] = words;
  if (extra.length > 0) return fail(io, `unexpected "${extra.join(' ')}"`);
  if (action === 'list') {
    for (const user of accounts.users()) io.stdout.write(`${user.name}\t${user.role}\n`);
    return 0;
  }
  const userName = UserName.safeParse(name);
  if (!userName.success) return fail(io, `users ${action ?? ''}: expected a user name`);
  if (action === 'remove') {
    if (isLastAdmin(accounts, userName.data)) return fail(io, `"${userName.data}" is the last admin`);
    if (!accounts.removeUser(userName.data)) return fail(io, `unknown user "${userName.data}"`);
    io.stdout.write(`removed ${userName.data} with their tokens and sessions\n`);
    return 0;
  }
  if (action !== 'add') return fail(io, 'expected users add|list|remove');
  const role = RoleName.safeParse(options.role);
  if (!role.success) return fail(io, 'users add needs --role viewer|operator|admin');
  const password = options['password-stdin']
    ? await readAll(io.stdin ?? process.stdin)
    : io.env[PASSWORD_ENV];
  if (password === undefined)
    return fail(io, `users add reads the password from stdin (--password-stdin) or $${PASSWORD_ENV}`);
  const created = await createUser(accounts, { name: userName.data, role: role.data, password }, Date.now());
  if (!created.ok) return fail(io, created.problem);
  io.stdout.write(`added ${userName.data} (${role.data})\n`);
  return 0;
}

function tokens(accounts: Accounts, words: string[], options: AccountOptions, io: CliIo): number {
  const [action, id, ...extra] = words;
  if (extra.length > 0) return fail(io, `unexpected "${extra.join(' ')}"`);
  if (action === 'list') {
    for (const token of accounts.tokens()) {
      const state =
        token.revokedAt !== null
          ? 'revoked'
          : token.expiresAt !== null && token.expiresAt <= Date.now()
            ? 'expired'
            : 'live';
      io.stdout.write(`${token.id}\t${token.user}\t${token.role}\t${state}\t${token.label ?? ''}\n`);
    }
    return 0;
  }
  if (action === 'revoke') {
    if (id === undefined) return fail(io, 'tokens revoke needs the token id');
    if (!accounts.revokeToken(id, Date.now())) return fail(io, `no live token "${id}"`);
    io.stdout.write(`revoked ${id}\n`);
    return 0;
  }
  if (action !== 'create' || id !== undefined) return fail(io, 'expected tokens create|list|revoke');
  const user = UserName.safeParse(options.user);
  if (!user.success) return fail(io, 'tokens create needs --user NAME');
  const role = options.role === undefined ? undefined : RoleName.safeParse(options.role);
  if (role && !role.success) return fail(io, '--role: expected viewer, operator or admin');
  const days = options['expires-days'];
  if (days !== undefined && !/^[1-9]\d{0,3}$/.test(days)) return fail(io, '--expires-days: expected 1-9999');
  const created = createToken(
    accounts,
    {
      user: user.data,
      ...(role && { role: role.data }),
      ...(options.label !== undefined && { label: options.label }),
      ...(days !== undefined && { expiresInDays: Number(days) }),
    },
    Date.now(),
  );
  if (!created.ok) return fail(io, created.problem);
  const { token } = created.value;
  io.stderr.write(
    `token ${created.value.id} for ${created.value.user} (${created.value.role}); shown this once:\n`,
  );
  io.stdout.write(`${token}\n`);
  return 0;
}

/** The whole of stdin, without its final line break. */
async function readAll(stream: AsyncIterable<string | Buffer>): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text.replace(/\r?\n$/, '');
}
