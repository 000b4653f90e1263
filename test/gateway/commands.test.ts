/**
 * The executor's checks are pure logic; its adapter here records calls. The writes themselves are
 * tested end to end against real Modbus and OPC UA devices in the gateway's command tests.
 */
import { describe, expect, it } from 'vitest';
import type { DeviceAdapter, ReadingScalar, WriteResult } from '../../adapters/contract.js';
import { CommandExecutor, valueProblem } from '../../gateway/commands.js';
import { createLogger } from '../../gateway/logger.js';
import type { PointDirectory } from '../../gateway/normalise.js';
import type { PointMetadata } from '../../gateway/schema/index.js';

function metadata(extra: Partial<PointMetadata>): PointMetadata {
  return { line: 'l', equipment: 'e', point: 'p', protocol: 'modbus', address: 'unit=1;holding=0', ...extra };
}

describe('valueProblem', () => {
  it.each([
    [{ dataType: 'bool' }, true, undefined],
    [{ dataType: 'bool' }, 1, 'expected true or false'],
    [{ dataType: 'uint16' }, 65535, undefined],
    [{ dataType: 'uint16' }, 65536, 'out of the uint16 range'],
    [{ dataType: 'int16' }, -1.5, 'expected an integer (int16)'],
    [{ dataType: 'float32' }, 12.5, undefined],
    [{ dataType: 'float32' }, 'x', 'expected a number'],
    [{ dataType: 'float64', min: 0, max: 100 }, 101, "above the point's maximum 100"],
    [{ dataType: 'float64', min: 0, max: 100 }, -1, "below the point's minimum 0"],
    [{ dataType: 'int64' }, '-9223372036854775808', undefined],
    [{ dataType: 'uint64' }, '-1', 'out of the uint64 range'],
    [{ dataType: 'string' }, 'auto', undefined],
    [{}, 3, undefined],
    [{}, Number.NaN, 'expected a number'],
  ] as Array<[Partial<PointMetadata>, unknown, string | undefined]>)(
    '%o with %o → %s',
    (extra, value, expected) => {
      expect(valueProblem(metadata(extra), value)).toBe(expected);
    },
  );
});

describe('CommandExecutor', () => {
  function setup() {
    const writes: Array<[string, ReadingScalar]> = [];
    const adapter: DeviceAdapter = {
      start: async () => undefined,
      scanOnce: async () => [],
      stop: async () => undefined,
      write: async (point, value): Promise<WriteResult> => {
        writes.push([point, value]);
        return value === 13
          ? {
              ok: false,
              reason: 'device refused',
              status: { source: 'modbus', code: 3, name: 'IllegalDataValue' },
            }
          : { ok: true };
      },
    };
    const le = { line: 'l', equipment: 'e' };
    const directory: PointDirectory = new Map([
      [
        'plc',
        new Map([
          [
            'setpoint',
            {
              identity: { line: 'l', equipment: 'e', point: 'setpoint' },
              equipment: le,
              metadata: metadata({ point: 'setpoint', dataType: 'uint16', writable: true, max: 100 }),
            },
          ],
          [
            'count',
            {
              identity: { line: 'l', equipment: 'e', point: 'count' },
              equipment: le,
              metadata: metadata({ point: 'count', dataType: 'uint32' }),
            },
          ],
        ]),
      ],
    ]);
    const executor = new CommandExecutor(
      directory,
      new Map([['plc', adapter]]),
      createLogger('test', 'silent'),
    );
    return { executor, writes };
  }

  it('writes only writable points with fitting values, and says why it refused the others', async () => {
    const { executor, writes } = setup();
    const outcomes = await executor.execute(
      [
        { line: 'l', equipment: 'e', point: 'setpoint', value: 42 },
        { line: 'l', equipment: 'e', point: 'count', value: 1 },
        { line: 'l', equipment: 'e', point: 'setpoint', value: 101 },
        { line: 'l', equipment: 'e', point: 'nope', value: 1 },
        { line: 'l', equipment: 'e', point: 'setpoint', value: 13 },
      ],
      { id: 'cmd-1', signer: 'cloud-1', by: 'operator', via: 'json' },
    );
    expect(outcomes.map((o) => [o.point, o.ok, o.reason])).toEqual([
      ['setpoint', true, undefined],
      ['count', false, 'the point is not writable (set `writable: true` in the config)'],
      ['setpoint', false, "value 101: above the point's maximum 100"],
      ['nope', false, 'no such point on this gateway'],
      ['setpoint', false, 'device refused'],
    ]);
    expect(outcomes[4]?.status?.name).toBe('IllegalDataValue');
    expect(writes).toEqual([
      ['setpoint', 42],
      ['setpoint', 13],
    ]);
  });
});
