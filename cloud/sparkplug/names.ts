/**
 * Sparkplug names (any text: `Plant A`, `Inputs/Temperature`, `温度`) as jjj identifiers, which travel
 * in topics and URLs. The rule, `stableId`, depends on the name alone, so the same name gives the same
 * id on every collector and after every restart:
 *
 * - a name that already is an identifier (lower-case letters, digits, `-`, `_`, at most 64) is kept;
 * - any other name is slugged (Unicode compatibility-decomposed, accents dropped, lower-cased, every
 *   run of other characters turned into one `-`, at most 55 characters) and, because that lost
 *   something, suffixed with `-` and the first 8 hex digits of the SHA-256 of the original name:
 *   `Inputs/Temperature` → `inputs-temperature-2faf3a32`, `inputs/temperature` → `inputs-temperature-75e9c180`.
 *
 * So an identifier never gains a suffix and two different names only meet by a 32-bit hash
 * collision (or a name written to look like another's slug and hash); the host checks each birth
 * for that and refuses the second name rather than merge two points.
 */
import { createHash } from 'node:crypto';
import { Identifier } from '../../gateway/schema/index.js';

const MAX_IDENTIFIER = 64;
const HASH_DIGITS = 8;

export function stableId(name: string): string {
  if (Identifier.safeParse(name).success) return name;
  const slug = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '-')
    .slice(0, MAX_IDENTIFIER - HASH_DIGITS - 1)
    .replace(/^[-_]+|[-_]+$/g, '');
  const hash = createHash('sha256').update(name, 'utf8').digest('hex').slice(0, HASH_DIGITS);
  return `${slug || 'x'}-${hash}`;
}

/** The Sparkplug names a template or pattern can refer to. `device` is the node's own name for node-level metrics. */
export interface SparkplugNames {
  group: string;
  node: string;
  device: string;
}

const PLACEHOLDER = /\{(group|node|device)\}/g;
const ANY_BRACE = /[{}]/;

/** Why a template is not usable; `undefined` when it is. */
export function templateProblem(template: string): string | undefined {
  const literal = template.replace(PLACEHOLDER, '');
  if (ANY_BRACE.test(literal)) return 'placeholders are {group}, {node} and {device}';
  if (literal === template && !Identifier.safeParse(template).success) {
    return 'without a placeholder the value is used as is, so it must be an identifier (lower-case letters, digits, "-" or "_")';
  }
  return undefined;
}

/**
 * A template's identifier for these names: a template without placeholders is the identifier itself;
 * otherwise the names are put in and the text goes through `stableId`.
 */
export function expandTemplate(template: string, names: SparkplugNames): string {
  if (!template.includes('{')) return template;
  return stableId(template.replace(PLACEHOLDER, (_, key: keyof SparkplugNames) => names[key]));
}

/** A name pattern: exact, or a glob where `*` matches any run of characters (case-sensitive). */
export function namePattern(pattern: string): (name: string) => boolean {
  if (!pattern.includes('*')) return (name) => name === pattern;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const regex = new RegExp(`^${source}$`, 's');
  return (name) => regex.test(name);
}
