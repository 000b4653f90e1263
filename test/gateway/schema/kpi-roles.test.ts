/** The KPI role contract: what `KpiRole` accepts, `isoStateOf` and `counterIncrease`. */
import { describe, expect, it } from 'vitest';
import {
  counterIncrease,
  isoStateOf,
  KpiRole,
  type MachineStateRole,
} from '../../../gateway/schema/kpi-roles.js';

const machineState = (raw: unknown) => KpiRole.parse(raw) as MachineStateRole;

describe('KpiRole', () => {
  it('fills the defaults: counters restart, meters measure their equipment, energy counts kWh', () => {
    expect(KpiRole.parse({ role: 'good-count', width: 32 })).toEqual({
      role: 'good-count',
      width: 32,
      reset: 'restart',
    });
    expect(KpiRole.parse({ role: 'energy' })).toEqual({
      role: 'energy',
      measure: 'counter',
      scope: 'equipment',
      reset: 'restart',
    });
    expect(KpiRole.parse({ role: 'water', scope: 'site', reset: 'never' })).toMatchObject({ scope: 'site' });
  });

  it('takes the equipment constants on good and total counts only', () => {
    expect(KpiRole.safeParse({ role: 'total-count', idealCycleTimeS: 42, unitValue: 18 }).success).toBe(true);
    expect(KpiRole.safeParse({ role: 'reject-count', idealCycleTimeS: 42 }).success).toBe(false);
    expect(KpiRole.safeParse({ role: 'good-count', idealCycleTimeS: 0 }).success).toBe(false);
  });

  it('refuses unknown roles, widths and states, and a state map with both or neither of values and bits', () => {
    expect(KpiRole.safeParse({ role: 'scrap' }).success).toBe(false);
    expect(KpiRole.safeParse({ role: 'good-count', width: 24 }).success).toBe(false);
    expect(KpiRole.safeParse({ role: 'machine-state', values: { '1': 'running' } }).success).toBe(false);
    expect(KpiRole.safeParse({ role: 'machine-state' }).success).toBe(false);
    expect(
      KpiRole.safeParse({
        role: 'machine-state',
        values: { '1': 'producing' },
        bits: [{ bit: 0, state: 'down' }],
      }).success,
    ).toBe(false);
    expect(KpiRole.safeParse({ role: 'energy', measure: 'power', extra: 1 }).success).toBe(false);
  });
});

describe('isoStateOf', () => {
  it('maps enum codes, booleans and texts through `values`', () => {
    const enumState = machineState({
      role: 'machine-state',
      values: { '1': 'producing', '2': 'idle', '3': 'down', '4': 'setup', '5': 'maintenance' },
    });
    expect([1, 2, 3, 4, 5].map((code) => isoStateOf(enumState, code))).toEqual([
      'producing',
      'idle',
      'down',
      'setup',
      'maintenance',
    ]);
    const running = machineState({ role: 'machine-state', values: { true: 'producing', false: 'idle' } });
    expect([isoStateOf(running, true), isoStateOf(running, false)]).toEqual(['producing', 'idle']);
    const text = machineState({ role: 'machine-state', values: { RUN: 'producing', ALARM: 'down' } });
    expect(isoStateOf(text, 'ALARM')).toBe('down');
  });

  it('leaves a value nothing matches unknown, unless `otherwise` names its state', () => {
    const strict = machineState({ role: 'machine-state', values: { '1': 'producing' } });
    expect(isoStateOf(strict, 7)).toBeUndefined();
    const lenient = machineState({ role: 'machine-state', values: { '1': 'producing' }, otherwise: 'down' });
    expect(isoStateOf(lenient, 7)).toBe('down');
  });

  it('reads a status word by its bits: the first listed bit that is set wins', () => {
    const word = machineState({
      role: 'machine-state',
      bits: [
        { bit: 3, state: 'down' },
        { bit: 5, state: 'maintenance' },
        { bit: 0, state: 'producing' },
      ],
      otherwise: 'idle',
    });
    expect(isoStateOf(word, 0b1)).toBe('producing');
    expect(isoStateOf(word, 0b101001)).toBe('down');
    expect(isoStateOf(word, 0b100001)).toBe('maintenance');
    expect(isoStateOf(word, 0)).toBe('idle');
    expect(isoStateOf(word, 1.5)).toBe('idle');
    const flag = machineState({ role: 'machine-state', bits: [{ bit: 0, state: 'producing' }] });
    expect([isoStateOf(flag, true), isoStateOf(flag, false)]).toEqual(['producing', undefined]);
  });
});

describe('counterIncrease', () => {
  const u16 = { width: 16, reset: 'restart' } as const;
  const u32 = { width: 32, reset: 'restart' } as const;

  it('counts the growth between two readings', () => {
    expect(counterIncrease(u16, 100, 130)).toBe(30);
    expect(counterIncrease(u16, 130, 130)).toBe(0);
  });

  it('takes a drop near the top of a 16-bit or 32-bit counter as a wrap', () => {
    expect(counterIncrease(u16, 65_530, 4)).toBe(10);
    expect(counterIncrease(u32, 2 ** 32 - 3, 7)).toBe(10);
  });

  it('reads a signed 16-bit reading as the unsigned counter it is', () => {
    // 32 767 → −32 768 is one part on a counter read as int16; −1 → 0 is one more (the wrap).
    expect(counterIncrease(u16, 32_767, -32_768)).toBe(1);
    expect(counterIncrease(u16, -1, 0)).toBe(1);
    expect(counterIncrease(u16, -32_768, -32_758)).toBe(10);
  });

  it('takes a drop from the middle of the range as a restart from 0, counting the new value', () => {
    expect(counterIncrease(u16, 20_000, 12)).toBe(12);
    expect(counterIncrease(u32, 5_000_000, 3)).toBe(3);
    // Without a width any drop is a restart (a shift-reset counter).
    expect(counterIncrease({ reset: 'restart' }, 480, 6)).toBe(6);
  });

  it('never takes a drop as a restart when the counter never resets', () => {
    expect(counterIncrease({ width: 16, reset: 'never' }, 20_000, 12)).toBe(2 ** 16 - 20_000 + 12);
    expect(counterIncrease({ reset: 'never' }, 480, 6)).toBe(0);
  });
});
