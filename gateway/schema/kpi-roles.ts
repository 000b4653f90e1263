/**
 * What a point means for the plant-comparison KPIs (its role), declared on the point in the gateway
 * config and carried in its metadata (JSON contract and Sparkplug births alike), so the collector
 * never has to know a point by its name. The time model follows ISO 22400-2: every machine state a
 * device reports is mapped onto one of `isoStates`.
 */
import { z } from 'zod';

/**
 * The states the time model counts (ISO 22400-2 time elements):
 * - `producing`: actual production time (APT);
 * - `idle`: a planned stop (no order, break, no material planned): planned down time, outside PBT;
 * - `down`: an unplanned stop (breakdown, fault): actual unit delay time (ADET), inside PBT;
 * - `setup`: actual unit setup time (AUST), inside PBT;
 * - `maintenance`: planned maintenance: planned down time, outside PBT.
 */
export const isoStates = ['producing', 'idle', 'down', 'setup', 'maintenance'] as const;
export const IsoState = z.enum(isoStates);
export type IsoState = z.infer<typeof IsoState>;

const counterFields = {
  width: z
    .union([z.literal(16), z.literal(32), z.literal(64)])
    .optional()
    .describe('bits of the device counter: past 2^width − 1 it wraps to 0, which is a wrap, not a restart'),
  reset: z
    .enum(['restart', 'never'])
    .default('restart')
    .describe(
      'restart: a decrease that is not a wrap means the counter restarted from 0 (power cycle, shift reset); never: the counter only ever wraps',
    ),
};

/** Where a meter sits: it measures its equipment, its whole line or the whole site (a main meter). */
const MeterScope = z
  .enum(['equipment', 'line', 'site'])
  .default('equipment')
  .describe('what the meter measures: its equipment, its whole line, or the whole site (a main meter)');

const equipmentConstants = {
  idealCycleTimeS: z
    .number()
    .positive()
    .optional()
    .describe("the equipment's ideal cycle time per part, s (when no point has the ideal-cycle-time role)"),
  unitValue: z
    .number()
    .nonnegative()
    .optional()
    .describe('value added per good part, CNY (when no point has the unit-value role)'),
};

const StateValueKey = z.string().min(1).max(64);

export const MachineStateRole = z
  .strictObject({
    role: z.literal('machine-state'),
    values: z
      .record(StateValueKey, IsoState)
      .optional()
      .describe('device value → state: enum codes ("3"), booleans ("true", "false") or texts ("RUN")'),
    bits: z
      .array(z.strictObject({ bit: z.number().int().min(0).max(52), state: IsoState }))
      .min(1)
      .max(53)
      .optional()
      .describe('a status word: the first listed bit that is set gives the state'),
    otherwise: IsoState.optional().describe(
      'the state of a value nothing matches; without it such a value leaves the state unknown',
    ),
  })
  .refine((role) => (role.values === undefined) !== (role.bits === undefined), {
    message: 'a machine-state role maps its values with either `values` or `bits`',
  });
export type MachineStateRole = z.infer<typeof MachineStateRole>;

export const KpiRole = z.discriminatedUnion('role', [
  MachineStateRole,
  z.strictObject({ role: z.literal('good-count'), ...counterFields, ...equipmentConstants }),
  z.strictObject({ role: z.literal('reject-count'), ...counterFields }),
  z
    .strictObject({ role: z.literal('total-count'), ...counterFields, ...equipmentConstants })
    .describe('all parts made; good parts are total − rejects'),
  z
    .strictObject({ role: z.literal('ideal-cycle-time') })
    .describe('seconds per part (or the unit of the point)'),
  z.strictObject({ role: z.literal('unit-value') }).describe('value added per good part, CNY'),
  z
    .strictObject({
      role: z.literal('energy'),
      measure: z
        .enum(['counter', 'power'])
        .default('counter')
        .describe('counter: an energy total (kWh); power: active power (kW), integrated over time'),
      scope: MeterScope,
      ...counterFields,
    })
    .describe('electrical energy'),
  z
    .strictObject({ role: z.literal('water'), scope: MeterScope, ...counterFields })
    .describe('water volume total (m³)'),
]);
export type KpiRole = z.infer<typeof KpiRole>;
export type KpiRoleName = KpiRole['role'];
export type CounterRole = Extract<KpiRole, { width?: unknown }>;

/** The text a device value is looked up by in `values`: numbers in decimal, booleans as true/false. */
function stateKeyOf(value: number | boolean | string): string {
  return typeof value === 'number' ? String(value) : typeof value === 'boolean' ? String(value) : value;
}

/** The ISO 22400 state a device value stands for; `undefined` when the role leaves it unknown. */
export function isoStateOf(role: MachineStateRole, value: number | boolean | string): IsoState | undefined {
  if (role.values) return role.values[stateKeyOf(value)] ?? role.otherwise;
  const word = typeof value === 'boolean' ? Number(value) : typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(word)) return role.otherwise;
  for (const { bit, state } of role.bits ?? []) {
    if (Math.floor(word / 2 ** bit) % 2 === 1) return state;
  }
  return role.otherwise;
}

/**
 * How much a counter grew from `previous` to `current`. A signed reading of a `width`-bit counter is
 * taken as unsigned. A decrease is a wrap when the counter never resets, or when wrapping would mean
 * a growth of less than a quarter of its range; otherwise (reset `restart`) the counter restarted
 * from 0, so `current` is what it counted since. A decrease of a counter without a width that never
 * resets counts nothing.
 */
export function counterIncrease(
  role: { width?: 16 | 32 | 64 | undefined; reset: 'restart' | 'never' },
  previous: number,
  current: number,
): number {
  const range = role.width === undefined ? undefined : 2 ** role.width;
  const unsigned = (v: number) => (range !== undefined && v < 0 ? v + range : v);
  const before = unsigned(previous);
  const now = unsigned(current);
  if (now >= before) return now - before;
  if (range === undefined) return role.reset === 'restart' ? now : 0;
  const wrapped = now + range - before;
  if (role.reset === 'never' || wrapped < range / 4) return wrapped;
  return now;
}
