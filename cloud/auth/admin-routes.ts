/** `/api/v1/users` and `/api/v1/tokens`: the admin role manages who may use the API. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { parseRequest } from '../query-params.js';
import type { Accounts } from '../store/account-table.js';
import {
  type AdminResult,
  createToken,
  createUser,
  isLastAdmin,
  RoleName,
  UserName,
} from './account-admin.js';
import { hashPassword, passwordProblem } from './secrets.js';

const NewUser = z.strictObject({ name: UserName, role: RoleName, password: z.string() });
const UserChange = z
  .strictObject({ role: RoleName.optional(), password: z.string().optional() })
  .refine(
    (change) => change.role !== undefined || change.password !== undefined,
    'expected role or password',
  );
const NameParam = z.strictObject({ name: UserName });
const NewToken = z.strictObject({
  user: UserName,
  role: RoleName.optional(),
  label: z.string().min(1).max(120).optional(),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});
const TokenParam = z.strictObject({ id: z.string().regex(/^[0-9a-f]{12}$/, 'expected a token id') });

export function registerAdminRoutes(app: FastifyInstance, accounts: Accounts, logger: Logger): void {
  const admin = { config: { access: 'admin' as const } };

  app.get('/api/v1/users', admin, async () => accounts.users());

  app.post('/api/v1/users', admin, async (request, reply) => {
    const body = parseRequest(NewUser, request.body, reply, 'request');
    if (!body) return reply;
    const created = await createUser(accounts, body, Date.now());
    if (created.ok)
      logger.info({ user: body.name, role: body.role, by: request.principal?.name }, 'user added');
    return answer(reply, created, 201);
  });

  app.patch('/api/v1/users/:name', admin, async (request, reply) => {
    const params = parseRequest(NameParam, request.params, reply, 'request');
    const change = params && parseRequest(UserChange, request.body, reply, 'request');
    if (!params || !change) return reply;
    if (change.role !== undefined && change.role !== 'admin' && isLastAdmin(accounts, params.name))
      return reply.code(409).send({ error: `"${params.name}" is the last admin` });
    const problem = change.password === undefined ? undefined : passwordProblem(change.password);
    if (problem) return reply.code(400).send({ error: problem });
    const passwordHash = change.password === undefined ? undefined : await hashPassword(change.password);
    const updated = accounts.updateUser(params.name, {
      ...(change.role !== undefined && { role: change.role }),
      ...(passwordHash !== undefined && { passwordHash }),
    });
    if (!updated) return reply.code(404).send({ error: `unknown user "${params.name}"` });
    logger.info(
      {
        user: params.name,
        role: change.role,
        password: passwordHash ? 'changed' : undefined,
        by: request.principal?.name,
      },
      'user changed',
    );
    return reply.code(204).send();
  });

  app.delete('/api/v1/users/:name', admin, async (request, reply) => {
    const params = parseRequest(NameParam, request.params, reply, 'request');
    if (!params) return reply;
    if (isLastAdmin(accounts, params.name))
      return reply.code(409).send({ error: `"${params.name}" is the last admin` });
    if (!accounts.removeUser(params.name))
      return reply.code(404).send({ error: `unknown user "${params.name}"` });
    logger.info(
      { user: params.name, by: request.principal?.name },
      'user removed with their tokens and sessions',
    );
    return reply.code(204).send();
  });

  app.get('/api/v1/tokens', admin, async () => accounts.tokens());

  app.post('/api/v1/tokens', admin, async (request, reply) => {
    const body = parseRequest(NewToken, request.body, reply, 'request');
    if (!body) return reply;
    const created = createToken(accounts, body, Date.now());
    if (created.ok)
      logger.info(
        {
          token: created.value.id,
          user: created.value.user,
          role: created.value.role,
          by: request.principal?.name,
        },
        'token created',
      );
    return answer(reply, created, 201);
  });

  app.delete('/api/v1/tokens/:id', admin, async (request, reply) => {
    const params = parseRequest(TokenParam, request.params, reply, 'request');
    if (!params) return reply;
    if (!accounts.revokeToken(params.id, Date.now()))
      return reply.code(404).send({ error: `no live token "${params.id}"` });
    logger.info({ token: params.id, by: request.principal?.name }, 'token revoked');
    return reply.code(204).send();
  });
}

function answer<T>(reply: FastifyReply, result: AdminResult<T>, status: number) {
  return result.ok
    ? reply.code(status).send(result.value)
    : reply.code(result.status).send({ error: result.problem });
}
