/** `POST /api/v1/commands` (operator) and `GET /api/v1/commands` (viewer). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { WriteRequest } from '../../gateway/schema/commands.js';
import { Identifier, parsePointId, ScalarValue } from '../../gateway/schema/index.js';
import { ListLimit, parseRequest } from '../query-params.js';
import type { CommandLog } from '../store/command-table.js';
import type { TelemetryStore } from '../store/store.js';
import type { CommandSender } from './command-sender.js';

/** Most writes one command of the API may carry. */
export const MAX_WRITES_PER_COMMAND = 100;

const WriteByPointId = z.strictObject({ point: z.string(), value: ScalarValue });

const CommandBody = z.strictObject({
  site: Identifier,
  gateway: Identifier.optional(),
  writes: z
    .array(z.union([WriteRequest.strict(), WriteByPointId]))
    .min(1)
    .max(MAX_WRITES_PER_COMMAND),
  timeoutMs: z.number().int().min(100).max(120_000).optional(),
});

const CommandsQuery = z.strictObject({ site: Identifier.optional(), limit: ListLimit });

export interface CommandRouteOptions {
  store: TelemetryStore;
  commandLog: CommandLog;
  /** Absent when the collector has no signing key: commands are refused. */
  sender: CommandSender | undefined;
  ackTimeoutMs: number;
  brokerConnected: () => boolean;
}

export function registerCommandRoutes(app: FastifyInstance, options: CommandRouteOptions): void {
  const { store, sender } = options;

  app.post('/api/v1/commands', { config: { access: 'operator' } }, async (request, reply) => {
    const body = parseRequest(CommandBody, request.body, reply, 'request');
    if (!body) return reply;
    if (!sender)
      return reply
        .code(503)
        .send({ error: 'commands are off: the collector has no commands.signingKeyFile' });
    const writes: WriteRequest[] = [];
    for (const write of body.writes) {
      if (!('line' in write)) {
        const parsed = parsePointId(write.point);
        if (!parsed || parsed.site !== body.site)
          return reply.code(400).send({ error: `"${write.point}" is not a point id of site ${body.site}` });
        writes.push({
          line: parsed.line,
          equipment: parsed.equipment,
          point: parsed.point,
          value: write.value,
        });
      } else writes.push(write);
    }
    const site = (await store.listSites()).find((known) => known.id === body.site);
    if (!site) return reply.code(404).send({ error: `unknown site "${body.site}"` });
    const siteGateways = (await store.gateways())
      .filter((gateway) => gateway.site === site.id)
      .map((g) => g.id);
    const gateway = body.gateway ?? site.gateway;
    if (!siteGateways.includes(gateway) && gateway !== site.gateway)
      return reply.code(404).send({ error: `gateway "${gateway}" is not registered for site ${site.id}` });
    if (!options.brokerConnected())
      return reply.code(503).send({ error: 'not connected to the broker: the command was not sent' });

    const waitMs = body.timeoutMs ?? options.ackTimeoutMs;
    const outcome = await sender.send({
      by: request.principal?.name ?? 'anonymous',
      target: { region: site.region, site: site.id, gateway },
      writes,
      waitMs,
    });
    if (!outcome.acknowledged)
      return reply.code(504).send({
        error: `no acknowledgement within ${waitMs} ms; the command stays pending`,
        command: outcome.command,
      });
    return outcome.command;
  });

  app.get('/api/v1/commands', async (request, reply) => {
    const query = parseRequest(CommandsQuery, request.query, reply, 'request');
    if (!query) return reply;
    return options.commandLog.commands({
      limit: query.limit,
      ...(query.site !== undefined && { site: query.site }),
    });
  });
}
