/**
 * The cloud stack's committed files as the tests read them: docker/compose.yaml (anchors and merge
 * keys resolved, as compose resolves them), docker/.env.example as an environment, and the `${VAR}`
 * references of a text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { repoRoot } from '../helpers/spawn.js';

export const dockerDir = join(repoRoot, 'docker');

const Healthcheck = z.object({ test: z.array(z.string()).min(2) }).passthrough();
const Service = z
  .object({
    image: z.string(),
    build: z.object({ context: z.string(), dockerfile: z.string() }).optional(),
    user: z.string(),
    command: z.array(z.string()).optional(),
    environment: z.record(z.string(), z.string()).default({}),
    volumes: z.array(z.string()).default([]),
    ports: z.array(z.string()).default([]),
    healthcheck: Healthcheck,
    depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
  })
  .passthrough();
export type StackService = z.infer<typeof Service>;

const Compose = z.object({
  services: z.record(z.string(), Service),
  volumes: z.record(z.string(), z.null()),
});
export type StackCompose = z.infer<typeof Compose>;

export const readStackFile = (path: string) => readFileSync(join(dockerDir, path), 'utf8');

/** compose.yaml parsed (YAML 1.1 merge keys on, as compose reads them) and checked for the shape the tests read. */
export function readCompose(): StackCompose {
  return Compose.parse(parse(readStackFile('compose.yaml'), { merge: true }));
}

/** docker/.env.example as `KEY=value` lines; comments and blank lines skipped. */
export function exampleEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readStackFile('.env.example').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!match) throw new Error(`docker/.env.example: not a KEY=value line: ${line}`);
    env[match[1] as string] = match[2] as string;
  }
  return env;
}

/** Names of the `${NAME}`, `${NAME:-default}` and `${NAME:?message}` references in a text (compose's `$$` escapes skipped). */
export function variablesIn(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.replaceAll('$$', '').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?-][^}]*)?\}/g)) {
    names.add(match[1] as string);
  }
  return names;
}

/** The `${VAR}` a service's environment hands over, e.g. JJJ_METRICS_TOKEN: ${JJJ_METRICS_TOKEN:?…}, resolved from `env`. */
export function serviceEnvironment(
  service: StackService,
  env: Record<string, string>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment).map(([key, value]) => [
      key,
      value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[?-][^}]*)?\}/g, (_match, name: string) => {
        const resolved = env[name];
        if (resolved === undefined) throw new Error(`${key}: ${name} is not in docker/.env.example`);
        return resolved;
      }),
    ]),
  );
}
