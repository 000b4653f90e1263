/** Config loading shared by both programs: YAML parse errors and zod issues become `path: reason` lines a deployer can act on. */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.js';

/** Why a URL cannot be connected to (its port, its syntax), or undefined; never repeats a password. */
export function urlProblem(url: string): string | undefined {
  const port = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*):(\d+)/i.exec(url)?.[1];
  if (port !== undefined && Number(port) > 65_535) return `port ${port} is above 65535`;
  try {
    new URL(url);
    return undefined;
  } catch {
    return 'not a valid URL';
  }
}

const connectableUrl = (scheme: RegExp, expected: string) =>
  z
    .string()
    .regex(scheme, expected)
    .superRefine((url, ctx) => {
      const problem = urlProblem(url);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

/** A broker address, as the gateway and the collector take it. */
export const MqttUrl = connectableUrl(
  /^(mqtts?|wss?|tcp):\/\//,
  'expected an mqtt://, mqtts://, ws:// or wss:// URL',
);

/** An HTTP server address (InfluxDB). */
export const HttpUrl = connectableUrl(/^https?:\/\//, 'expected an http:// or https:// URL');

/**
 * Why `filter` is not an MQTT topic filter a broker accepts (MQTT 3.1.1 §4.7, 5.0 §4.8.2 for
 * `$share/`), or undefined. A broker refuses such a subscription, and a collector subscribed to
 * nothing would otherwise run "healthy" while ingesting nothing.
 */
export function topicFilterProblem(filter: string): string | undefined {
  if (filter === '') return 'a topic filter must not be empty';
  let levels = filter.split('/');
  if (levels[0] === '$share') {
    const group = levels[1];
    if (group === undefined || group === '' || /[+#]/.test(group)) {
      return '$share/ needs a group name without wildcards: $share/<group>/<filter>';
    }
    levels = levels.slice(2);
    if (levels.length === 0 || levels.join('/') === '')
      return '$share/<group>/ needs a filter after the group';
  }
  for (const [index, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1)) {
      return '"#" must be a whole level and the last one';
    }
    if (level.includes('+') && level !== '+') return '"+" must be a whole level (a/+/b, not a/b+/c)';
  }
  return undefined;
}

export const MqttTopicFilter = z.string().superRefine((filter, ctx) => {
  const problem = topicFilterProblem(filter);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** More alias expansions than this is a "billion laughs" document, refused before it eats the memory. */
const MAX_YAML_ALIASES = 100;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
}

/** `${NAME}` or `${NAME:-default}`; `$${` is a literal `${`. */
const ENV_REFERENCE = /\$(\$)?\{([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces `${NAME}` in every string value of a parsed config with the environment variable NAME
 * (`${NAME:-default}` when it is unset or empty), so one file serves every site and secrets stay out
 * of it. Done on parsed values, not on the text, so a value can never change the document's
 * structure. A value that is exactly one reference and reads as a number or `true`/`false` becomes
 * one (`port: ${MQTT_PORT}`). Problems name the path and the variable, never a value.
 */
export function expandEnvironment(
  raw: unknown,
  env: NodeJS.ProcessEnv,
): { value: unknown; problems: string[] } {
  const problems: string[] = [];
  const expandString = (text: string, path: PropertyKey[]): unknown => {
    let whole = false;
    const expanded = text.replace(
      ENV_REFERENCE,
      (match, escaped: string | undefined, body: string, offset) => {
        if (escaped) return match.slice(1);
        const [name = '', fallback] = body.split(/:-(.*)/s, 2);
        if (!ENV_NAME.test(name)) {
          problems.push(
            `${formatPath(path)}: "\${${body}}" is not a variable reference (\${NAME} or \${NAME:-default})`,
          );
          return match;
        }
        const value = env[name];
        const replacement = value !== undefined && value !== '' ? value : fallback;
        if (replacement !== undefined) {
          whole = offset === 0 && match.length === text.length;
          return replacement;
        }
        problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
        return match;
      },
    );
    if (whole && /^-?\d+(\.\d+)?$/.test(expanded)) return Number(expanded);
    if (whole && (expanded === 'true' || expanded === 'false')) return expanded === 'true';
    return expanded;
  };
  const walk = (value: unknown, path: PropertyKey[]): unknown => {
    if (typeof value === 'string') return expandString(value, path);
    if (Array.isArray(value)) return value.map((item, index) => walk(item, [...path, index]));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, walk(item, [...path, key])]),
      );
    }
    return value;
  };
  return { value: walk(raw, []), problems };
}

/**
 * Reads a YAML file, takes `${NAME}` from the environment, and validates it, throwing `ConfigError`
 * with every problem found.
 */
export function loadYamlConfig<T>(
  file: string,
  schema: z.ZodType<T>,
  env: NodeJS.ProcessEnv = process.env,
): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [`(file): cannot read: ${(error as Error).message}`]);
  }
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      file,
      document.errors.map((e) => `(yaml) line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`),
    );
  }
  let raw: unknown;
  try {
    raw = document.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    // The yaml package throws a ReferenceError for an alias bomb (and for an alias to nothing).
    throw new ConfigError(file, [
      `(yaml): ${(error as Error).message.split('\n')[0]} (at most ${MAX_YAML_ALIASES} alias expansions are allowed)`,
    ]);
  }
  const expanded = expandEnvironment(raw, env);
  if (expanded.problems.length > 0) throw new ConfigError(file, expanded.problems);
  const result = schema.safeParse(expanded.value);
  if (!result.success) throw new ConfigError(file, formatIssues(result.error.issues));
  return result.data;
}
